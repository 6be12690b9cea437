// The kubernetes driver held to the same conformance suite as the process driver, against the API
// server stand-in (libs/runtime/testing/kube-api-standin.ts): its simulated kubelet runs the two
// conformance programs as image behaviours — `serve` becomes ready and prints its
// CONFORMANCE_TEXT, `exit` crash-loops after printing that it is about to fail, as the kubelet
// reports a program that exits under a StatefulSet (restartPolicy Always).
import { type ConformanceProgram, runtimeConformance } from '../../testing/conformance.js';
import { NAMESPACE, sessionSpec, startKubernetes } from '../../testing/kubernetes-fixtures.js';
import type { WorkloadSpec, WorkloadStatus } from '../runtime.js';
import { sessionNames } from './labels.js';

const SERVE = 'registry.example.com/conformance/serve:1';
const EXIT = 'registry.example.com/conformance/exit:1';

runtimeConformance('kubernetes', async () => {
  const { api, runtime, close } = await startKubernetes();
  api.images.set(SERVE, { kind: 'ready', log: (env) => [`conformance: ${env.CONFORMANCE_TEXT ?? 'started'}`] });
  api.images.set(EXIT, { kind: 'crash-loop', exitCode: 3, log: ['conformance: about to fail'] });
  return {
    runtime,
    program: (id: string, program: ConformanceProgram, env: Record<string, string> = {}): WorkloadSpec =>
      sessionSpec(id, { image: program === 'serve' ? SERVE : EXIT, command: [], args: [], env, repositories: [] }),
    say: async (status: WorkloadStatus, text: string) => api.appendLog(NAMESPACE, sessionNames(status.id).pod, `conformance: ${text}`),
    cleanup: close,
  };
});
