import { RuntimeError, RuntimeErrorCode, isRetryable } from './runtime-error.js';
import { assertAppName, assertWorkloadName, isDns1123Label } from './workload-name.js';

describe('workload names', () => {
  it('accepts what Kubernetes accepts as a DNS-1123 label, and nothing else', () => {
    expect(isDns1123Label('0b6f3c1e-2d4a-4f8e-9c7b-1a2b3c4d5e6f')).toBe(true);
    expect(isDns1123Label('a')).toBe(true);
    expect(isDns1123Label('a'.repeat(63))).toBe(true);
    for (const bad of ['', 'a'.repeat(64), 'Upper', 'under_score', 'dot.ted', '-leading', 'trailing-', '../escape']) expect(isDns1123Label(bad)).toBe(false);
  });

  it('refuses a bad name with a code that says not to retry', () => {
    let error: unknown;
    try {
      assertWorkloadName('Not_A_Label');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RuntimeError);
    expect(error).toMatchObject({ code: RuntimeErrorCode.INVALID_SPEC, retryable: false });
    expect(isRetryable(error)).toBe(false);
    expect(() => assertAppName('a'.repeat(41))).toThrow(/at most 40 characters/);
  });

  it('says to retry what may pass: an unreachable backend, a conflict, an unknown error', () => {
    expect(isRetryable(new RuntimeError(RuntimeErrorCode.UNAVAILABLE, 'down'))).toBe(true);
    expect(isRetryable(new RuntimeError(RuntimeErrorCode.CONFLICT, 'changed'))).toBe(true);
    expect(isRetryable(new RuntimeError(RuntimeErrorCode.FORBIDDEN, 'no'))).toBe(false);
    expect(isRetryable(new Error('bug'))).toBe(true);
  });
});
