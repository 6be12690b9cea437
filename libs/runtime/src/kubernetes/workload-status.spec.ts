import type * as k8s from '@kubernetes/client-node';
import { podVerdict, sessionVerdict, shortResources } from './workload-status.js';

const pod = (status: k8s.V1PodStatus, spec: Partial<k8s.V1PodSpec> = {}): k8s.V1Pod => ({
  metadata: { name: 's-x-0' },
  spec: { containers: [{ name: 'main', image: 'registry.example.com/team/img:1' }], ...spec },
  status,
});

describe('cluster states as statuses a person can act on', () => {
  it('names what the scheduler found short', () => {
    expect(shortResources('0/3 nodes are available: 1 Insufficient cpu, 2 Insufficient nvidia.com/gpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.')).toEqual(['cpu', 'nvidia.com/gpu']);
    const v = podVerdict(pod({ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available: 3 Insufficient memory. preemption: x' }] }), null);
    expect(v).toMatchObject({ phase: 'pending', reason: 'Unschedulable', message: 'waiting for resources: not enough memory on any node (0/3 nodes are available: 3 Insufficient memory)' });
  });

  it('waits for a volume while the claim is unbound', () => {
    const unbound = podVerdict(pod({ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims.' }] }), null);
    expect(unbound).toMatchObject({ phase: 'pending', reason: 'ClaimPending', message: 'waiting for a volume' });
    const sts: k8s.V1StatefulSet = { spec: { replicas: 1, serviceName: 's', selector: {}, template: {} } };
    expect(sessionVerdict(sts, { status: { phase: 'Pending' } }, undefined, null)).toMatchObject({ phase: 'pending', reason: 'ClaimPending' });
    expect(sessionVerdict({ ...sts, spec: { ...sts.spec!, replicas: 0 } }, { status: { phase: 'Bound' } }, undefined, null).phase).toBe('stopped');
  });

  it('fails an image that cannot be pulled, naming it', () => {
    for (const reason of ['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName']) {
      const v = podVerdict(pod({ phase: 'Pending', containerStatuses: [{ name: 'main', image: 'x', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason } } }] }), null);
      expect(v).toMatchObject({ phase: 'failed', reason: 'ImagePullFailed', message: 'image not found or not pullable: registry.example.com/team/img:1' });
    }
  });

  it('fails a crash loop with the exit code, restarts and last lines', () => {
    const status: k8s.V1PodStatus = {
      phase: 'Running',
      containerStatuses: [{ name: 'main', image: 'x', imageID: '', ready: false, restartCount: 5, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 2 } } }],
    };
    expect(podVerdict(pod(status), ['boom'])).toMatchObject({ phase: 'failed', reason: 'CrashLoopBackOff', exitCode: 2, restarts: 5, message: 'the program keeps exiting (exit code 2), restarted 5 times; its last output: boom' });
  });

  it('is preparing while the repositories are cloned, and says when cloning failed', () => {
    const init = (state: k8s.V1ContainerState): k8s.V1Pod =>
      pod({ phase: 'Pending', initContainerStatuses: [{ name: 'clone-repositories', image: 'git', imageID: '', ready: false, restartCount: 0, state }] }, { initContainers: [{ name: 'clone-repositories', image: 'alpine/git' }] });
    expect(podVerdict(init({ running: {} }), null).phase).toBe('preparing');
    expect(podVerdict(init({ terminated: { exitCode: 128 } }), ['fatal: repository not found'])).toMatchObject({ phase: 'failed', reason: 'PreparationFailed', message: 'cloning the repositories failed: fatal: repository not found' });
  });

  it('tells a missing command from other start failures', () => {
    const waiting = (message: string) => podVerdict(pod({ phase: 'Pending', containerStatuses: [{ name: 'main', image: 'x', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'RunContainerError', message } } }] }), null);
    expect(waiting('exec: "jupyter": executable file not found in $PATH').reason).toBe('CommandNotFound');
    expect(waiting('something else').reason).toBe('StartFailed');
  });
});
