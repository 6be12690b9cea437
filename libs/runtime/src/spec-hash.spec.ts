import type { WorkloadSpec } from './runtime.js';
import { workloadSpecHash } from './spec-hash.js';

const spec = (over: Partial<WorkloadSpec> = {}): WorkloadSpec => ({
  id: 's1',
  kind: 'session',
  owner: { service: 'sessions', id: 's1' },
  image: 'jupyter/minimal:1',
  command: ['jupyter'],
  args: ['lab'],
  env: { A: '1', B: '2' },
  port: 8888,
  baseUrl: '/',
  defaultUrl: '/lab',
  workingDirectory: '/work',
  repositories: [],
  resources: { cpu: 1, memoryMb: 1024, gpu: 0, diskGb: 1 },
  ...over,
});

describe('workloadSpecHash', () => {
  it('is the same for the same spec, whatever the order of its keys and whoever it is for', () => {
    expect(workloadSpecHash(spec())).toBe(workloadSpecHash(spec({ env: { B: '2', A: '1' } })));
    expect(workloadSpecHash(spec())).toBe(workloadSpecHash(spec({ id: 'other', owner: { service: 'apps', id: 'x' } })));
    expect(workloadSpecHash(spec())).toMatch(/^[0-9a-f]{16}$/);
  });

  it('changes with anything that changes how it runs', () => {
    const base = workloadSpecHash(spec());
    expect(workloadSpecHash(spec({ image: 'jupyter/minimal:2' }))).not.toBe(base);
    expect(workloadSpecHash(spec({ args: ['notebook'] }))).not.toBe(base);
    expect(workloadSpecHash(spec({ env: { A: '1', B: '3' } }))).not.toBe(base);
    expect(workloadSpecHash(spec({ resources: { cpu: 2, memoryMb: 1024, gpu: 0, diskGb: 1 } }))).not.toBe(base);
  });
});
