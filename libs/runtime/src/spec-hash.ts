import { createHmac, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AppWorkloadSpec, WorkloadSpec } from './runtime.js';

/** JSON with object keys sorted, so that two equal specs hash the same whatever order their fields were built in. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** At least this many bytes of key: HMAC-SHA256's own block of security. */
export const SPEC_HASH_KEY_BYTES = 32;

/**
 * What identifies how a workload runs: a keyed hash (HMAC-SHA256) of its spec (without its id and
 * owner, which name it rather than say how it runs), 16 hex digits. Stored on the workload when
 * it starts (Kubernetes: an annotation on the pod template; process: its state.json) and reported
 * as `WorkloadStatus.specHash`, so that a changed launcher rolls it the way a Deployment's
 * pod-template-hash does. Keyed because a spec holds secret values (a session's token, sealed
 * variables, storage credentials): a plain hash beside the rest of the spec, which is no secret,
 * would let whoever reads an annotation try guesses of a short secret offline. Without the key the
 * hash says nothing about the values; with another key it differs, so every replica of a service
 * must share one (RUNTIME_SPEC_HASH_KEY).
 */
export function workloadSpecHash(spec: WorkloadSpec | AppWorkloadSpec['template'], key: Buffer): string {
  const { id: _id, kind: _kind, owner: _owner, secretEnv, ...rest } = spec as Partial<WorkloadSpec> & AppWorkloadSpec['template'];
  // The program's environment as one (secret values win, as the drivers give them): moving a
  // variable between `env` and `secretEnv` does not change how it runs, nor its hash.
  return keyedHash({ ...rest, env: { ...rest.env, ...secretEnv } }, key);
}

/** HMAC-SHA256 of a value's canonical JSON with `key`, 16 hex digits (e.g. of a Secret's content, on the pod template that uses it). */
export function keyedHash(value: unknown, key: Buffer): string {
  if (key.length < SPEC_HASH_KEY_BYTES) throw new Error(`a spec hash key has at least ${SPEC_HASH_KEY_BYTES} bytes`);
  return createHmac('sha256', key).update(canonical(value)).digest('hex').slice(0, 16);
}

/**
 * The process runtime's key when none is configured: made once, kept in the data directory
 * (`.spec-hash-key`, readable by this service's user only), so a restart of the service hashes as
 * before and adopts its workloads without rolling them.
 */
export function dataDirSpecHashKey(dataDir: string): Buffer {
  const path = join(dataDir, '.spec-hash-key');
  try {
    const key = readFileSync(path);
    if (key.length >= SPEC_HASH_KEY_BYTES) return key;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  mkdirSync(dataDir, { recursive: true });
  const key = randomBytes(SPEC_HASH_KEY_BYTES);
  // 'wx': two runtimes over one new directory keep the first one's key.
  try {
    writeFileSync(path, key, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return readFileSync(path);
    throw error;
  }
  chmodSync(path, 0o600);
  return key;
}
