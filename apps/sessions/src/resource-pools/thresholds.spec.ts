import { SessionsError } from '@launchpad/contracts';
import { thresholdsFor } from './thresholds.js';

const defaults = { idleTimeoutMs: 3600_000, hibernatedTtlMs: 14 * 86_400_000 };
const pool = (idleThresholdS: number | null, hibernationThresholdS: number | null) => ({ name: 'Short', idleThresholdS, hibernationThresholdS });

describe('thresholdsFor', () => {
  it('nothing asked: the pool’s own thresholds, else the service’s (null)', () => {
    expect(thresholdsFor(pool(600, 0), {}, defaults)).toEqual({ idleTimeoutMs: 600_000, hibernatedTtlMs: 0 });
    expect(thresholdsFor(pool(null, null), {}, defaults)).toEqual({ idleTimeoutMs: null, hibernatedTtlMs: null });
  });

  it('takes what is asked within the pool’s bound, or the service’s when the pool has none', () => {
    expect(thresholdsFor(pool(600, 7200), { idleS: 300, hibernationS: 3600 }, defaults)).toEqual({ idleTimeoutMs: 300_000, hibernatedTtlMs: 3_600_000 });
    expect(thresholdsFor(pool(null, null), { idleS: 3600 }, defaults)).toEqual({ idleTimeoutMs: 3_600_000, hibernatedTtlMs: null });
    // A pool that never hibernates (0) allows any idle time, and never.
    expect(thresholdsFor(pool(0, 0), { idleS: 0, hibernationS: 999_999 }, defaults)).toEqual({ idleTimeoutMs: 0, hibernatedTtlMs: 999_999_000 });
  });

  it('refuses more than the bound, and never in a pool that has a bound, saying where the ask came from', () => {
    const refusal = (run: () => unknown) => {
      try {
        run();
      } catch (error) {
        return error as SessionsError;
      }
      throw new Error('not refused');
    };
    const tooLong = refusal(() => thresholdsFor(pool(600, 0), { idleS: 601, idleSource: "the launcher's idleThresholdS" }, defaults));
    expect(tooLong.message).toBe(`the launcher's idleThresholdS 601 is not allowed in resource pool "Short": its sessions are hibernated after at most 600 s idle (ask for 1 to 600)`);
    expect(tooLong.details).toEqual([{ path: 'idleThresholdS', message: '1 to 600 in pool "Short"' }]);
    expect(refusal(() => thresholdsFor(pool(600, 0), { idleS: 0 }, defaults)).message).toMatch(/^idleThresholdS 0 is not allowed/);
    const ttl = refusal(() => thresholdsFor(pool(null, 3600), { hibernationS: 0, hibernationSource: "the launcher's hibernationThresholdS" }, defaults));
    expect(ttl.message).toBe(`the launcher's hibernationThresholdS 0 is not allowed in resource pool "Short": its hibernated sessions are deleted after at most 3600 s (ask for 1 to 3600)`);
  });
});
