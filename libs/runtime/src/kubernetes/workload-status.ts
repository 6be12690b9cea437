import type * as k8s from '@kubernetes/client-node';
import type { WorkloadPhase, WorkloadReason } from '../runtime.js';
import { CONTAINERS } from './manifests.js';

/**
 * The driver's whole judgement of cluster state, as pure functions of what the informers hold:
 * which phase a workload is in and what a person should be told. Messages say what to do or what
 * is being waited for, in the words of the object that says so (the scheduler's, the kubelet's).
 */
export interface PodVerdict {
  phase: WorkloadPhase;
  reason: WorkloadReason | null;
  message: string | null;
  exitCode: number | null;
  restarts: number;
  startedAt: string | null;
  readyAt: string | null;
}

const IMAGE_PULL = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'ErrImageNeverPull']);
const START_FAILURE = new Set(['CreateContainerConfigError', 'CreateContainerError', 'RunContainerError']);

const iso = (v: unknown): string | null => (v === undefined || v === null ? null : new Date(String(v)).toISOString());

/** "0/3 nodes are available: 1 Insufficient cpu, 2 Insufficient nvidia.com/gpu. preemption: ..." → "cpu, nvidia.com/gpu". */
export function shortResources(schedulerMessage: string): string[] {
  const head = schedulerMessage.split(/\.\s+preemption:/)[0] ?? schedulerMessage;
  return [...new Set([...head.matchAll(/Insufficient ([A-Za-z0-9./_-]+)/g)].map((m) => m[1]!))];
}

function unschedulable(message: string): Pick<PodVerdict, 'phase' | 'reason' | 'message'> {
  if (/unbound immediate PersistentVolumeClaims|persistentvolumeclaim "[^"]+" not found|waiting for first consumer/i.test(message)) {
    return { phase: 'pending', reason: 'ClaimPending', message: 'waiting for a volume' };
  }
  const short = shortResources(message);
  const head = (message.split(/\.\s+preemption:/)[0] ?? message).trim();
  return {
    phase: 'pending',
    reason: 'Unschedulable',
    message: short.length > 0 ? `waiting for resources: not enough ${short.join(', ')} on any node (${head})` : `waiting for resources: ${head}`,
  };
}

/** Phase of one pod of ours (the main container, and the repository clone before it). `crashLog`: the crashed program's last lines, once read. */
export function podVerdict(pod: k8s.V1Pod, crashLog: string[] | null): PodVerdict {
  const status = pod.status ?? {};
  const main = (status.containerStatuses ?? []).find((c) => c.name === CONTAINERS.main);
  const clone = (status.initContainerStatuses ?? []).find((c) => c.name === CONTAINERS.clone);
  const ready = (status.conditions ?? []).find((c) => c.type === 'Ready');
  const base: PodVerdict = {
    phase: 'starting',
    reason: null,
    message: null,
    exitCode: null,
    restarts: main?.restartCount ?? 0,
    startedAt: iso(status.startTime),
    readyAt: ready?.status === 'True' ? iso(ready.lastTransitionTime) : null,
  };
  const scheduled = (status.conditions ?? []).find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False') return { ...base, ...unschedulable(scheduled.message ?? scheduled.reason ?? 'no node can run it yet') };

  // The repositories are cloned first.
  const cloneImage = pod.spec?.initContainers?.find((c) => c.name === CONTAINERS.clone)?.image;
  if (clone && !clone.ready && clone.state?.terminated?.exitCode !== 0) {
    const waiting = clone.state?.waiting?.reason;
    if (waiting && IMAGE_PULL.has(waiting)) {
      return { ...base, phase: 'failed', reason: 'ImagePullFailed', message: `image not found or not pullable: ${cloneImage ?? clone.image} (the image that clones repositories, KUBERNETES_GIT_IMAGE)` };
    }
    const failedClone = clone.state?.terminated ?? (waiting === 'CrashLoopBackOff' ? clone.lastState?.terminated : undefined);
    if (failedClone && failedClone.exitCode !== 0) {
      const tail = crashLog && crashLog.length > 0 ? `: ${crashLog.slice(-5).join(' | ')}` : '';
      return { ...base, phase: 'failed', reason: 'PreparationFailed', exitCode: failedClone.exitCode ?? null, message: `cloning the repositories failed${tail}` };
    }
    return { ...base, phase: 'preparing' };
  }

  if (!main) return base;
  const waiting = main.state?.waiting;
  if (waiting?.reason && IMAGE_PULL.has(waiting.reason)) {
    const image = pod.spec?.containers.find((c) => c.name === CONTAINERS.main)?.image ?? main.image;
    return { ...base, phase: 'failed', reason: 'ImagePullFailed', message: `image not found or not pullable: ${image}` };
  }
  if (waiting?.reason === 'CrashLoopBackOff') {
    const last = main.lastState?.terminated;
    const tail = crashLog && crashLog.length > 0 ? `; its last output: ${crashLog.slice(-10).join('\n')}` : '';
    return {
      ...base,
      phase: 'failed',
      reason: 'CrashLoopBackOff',
      exitCode: last?.exitCode ?? null,
      message: `the program keeps exiting${last?.exitCode !== undefined ? ` (exit code ${last.exitCode})` : ''}, restarted ${main.restartCount} times${tail}`,
    };
  }
  if (waiting?.reason && START_FAILURE.has(waiting.reason)) {
    const notFound = /executable file not found|no such file or directory/i.exec(waiting.message ?? '');
    return { ...base, phase: 'failed', reason: notFound ? 'CommandNotFound' : 'StartFailed', message: waiting.message ?? waiting.reason };
  }
  if (waiting?.reason === 'ContainerCreating' || waiting?.reason === 'PodInitializing') {
    return { ...base, phase: 'pending', reason: 'PullingImage', message: `pulling the image ${main.image}` };
  }
  const terminated = main.state?.terminated;
  if (terminated) {
    return { ...base, phase: 'failed', reason: 'Exited', exitCode: terminated.exitCode ?? null, message: `the program exited with code ${terminated.exitCode}${terminated.reason ? ` (${terminated.reason})` : ''}` };
  }
  if (main.state?.running) return { ...base, phase: ready?.status === 'True' && main.ready ? 'ready' : 'starting' };
  return base;
}

/** Phase of a session from its StatefulSet, claim and pod (any may be missing). */
export function sessionVerdict(
  statefulSet: k8s.V1StatefulSet,
  claim: k8s.V1PersistentVolumeClaim | undefined,
  pod: k8s.V1Pod | undefined,
  crashLog: string[] | null,
): PodVerdict {
  const none: PodVerdict = { phase: 'starting', reason: null, message: null, exitCode: null, restarts: 0, startedAt: null, readyAt: null };
  if ((statefulSet.spec?.replicas ?? 1) === 0) {
    // Hibernated: the claim is kept; the pod may still be terminating.
    return { ...none, phase: 'stopped', startedAt: null };
  }
  if (!claim || claim.status?.phase !== 'Bound') {
    const verdict = pod ? podVerdict(pod, crashLog) : none;
    if (verdict.phase === 'failed') return verdict;
    return { ...verdict, phase: 'pending', reason: 'ClaimPending', message: 'waiting for a volume' };
  }
  if (!pod) return none;
  return podVerdict(pod, crashLog);
}
