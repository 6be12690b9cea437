import type { WorkloadSpec } from './runtime.js';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dataDirSpecHashKey, workloadSpecHash as keyed } from './spec-hash.js';

const KEY = Buffer.alloc(32, 1);
const workloadSpecHash = (s: WorkloadSpec) => keyed(s, KEY);

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

  it('sees secret variables as part of the environment: moving one between env and secretEnv keeps the hash, changing its value does not', () => {
    const base = workloadSpecHash(spec({ env: { A: '1', B: '2', JUPYTER_TOKEN: 't1' } }));
    expect(workloadSpecHash(spec({ env: { A: '1', B: '2' }, secretEnv: { JUPYTER_TOKEN: 't1' } }))).toBe(base);
    // A secret value wins over a plain one of the same name, as the drivers give them.
    expect(workloadSpecHash(spec({ env: { A: '1', B: '2', JUPYTER_TOKEN: 'old' }, secretEnv: { JUPYTER_TOKEN: 't1' } }))).toBe(base);
    expect(workloadSpecHash(spec({ env: { A: '1', B: '2' }, secretEnv: { JUPYTER_TOKEN: 't2' } }))).not.toBe(base);
    expect(workloadSpecHash(spec({ secretFiles: [{ name: 'k', content: '1' }] }))).not.toBe(workloadSpecHash(spec({ secretFiles: [{ name: 'k', content: '2' }] })));
  });

  it('cannot be told from the secret values it covers without the key', () => {
    // A session's token in its environment: whoever reads the hash (an annotation, state.json)
    // and knows the rest of the spec must not be able to check a guess of the token.
    const withToken = (token: string) => spec({ env: { A: '1', B: '2', JUPYTER_TOKEN: token } });
    const { id: _i, kind: _k, owner: _o, ...rest } = withToken('guess');
    const plain = (value: unknown) => createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);
    expect(keyed(withToken('guess'), KEY)).not.toBe(plain(rest));
    expect(keyed(withToken('guess'), KEY)).not.toBe(keyed(withToken('guess'), Buffer.alloc(32, 2)));
    expect(keyed(withToken('guess'), KEY)).not.toBe(keyed(withToken('other'), KEY));
    expect(() => keyed(withToken('guess'), Buffer.alloc(8))).toThrow(/at least 32 bytes/);
  });
});

describe('spec hash keys', () => {
  it('the process runtime’s own key is made once and kept, readable by its owner only', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lp-spec-key-'));
    try {
      const first = dataDirSpecHashKey(dir);
      expect(first.length).toBe(32);
      expect(dataDirSpecHashKey(dir)).toEqual(first);
      expect(statSync(join(dir, '.spec-hash-key')).mode & 0o777).toBe(0o600);
      const other = mkdtempSync(join(tmpdir(), 'lp-spec-key-'));
      expect(dataDirSpecHashKey(other)).not.toEqual(first);
      rmSync(other, { recursive: true, force: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
