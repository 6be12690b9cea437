import { fits, quotaShortfall, remaining, sessionLimitProblem, sessionsPerUserLimit } from './quota.js';

describe('pool quota', () => {
  const quota = { cpu: 2, memoryGb: 8, gpu: 1 };

  it('lets a launch use exactly what is left, fractions included', () => {
    expect(fits({ cpu: 0.3, memoryGb: 1, gpu: 0 }, quota, { cpu: 1.7, memoryGb: 7, gpu: 1 })).toBe(true);
  });

  it('refuses a launch that would exceed any one resource', () => {
    expect(fits({ cpu: 0.5, memoryGb: 1, gpu: 0 }, quota, { cpu: 1.6, memoryGb: 0, gpu: 0 })).toBe(false);
    expect(fits({ cpu: 0.1, memoryGb: 2, gpu: 0 }, quota, { cpu: 0, memoryGb: 6.5, gpu: 0 })).toBe(false);
    expect(fits({ cpu: 0.1, memoryGb: 1, gpu: 1 }, quota, { cpu: 0, memoryGb: 0, gpu: 1 })).toBe(false);
  });

  it('never reports negative room when a quota was lowered below use', () => {
    expect(remaining(quota, { cpu: 3, memoryGb: 9, gpu: 2 })).toEqual({ cpu: 0, memoryGb: 0, gpu: 0 });
  });

  it('names the pool, what is left and what the class needs', () => {
    expect(quotaShortfall('Public', 'large', { cpu: 4, memoryGb: 16, gpu: 0 }, quota, { cpu: 1.5, memoryGb: 2, gpu: 0 })).toBe(
      'resource pool "Public" has 0.5 CPU, 6 GB memory and 1 GPU left, but class "large" needs 4 CPU, 16 GB memory and 0 GPU: ' +
        'hibernate or delete a session in this pool, or choose a smaller class',
    );
  });

  it('says which of the caller’s own sessions hold the pool’s resources, or that none do', () => {
    const used = { cpu: 1.5, memoryGb: 2, gpu: 0 };
    expect(quotaShortfall('Public', 'large', { cpu: 4, memoryGb: 16, gpu: 0 }, quota, used, [{ name: 'Notebook', status: 'running', cpu: 1, memoryGb: 2, gpu: 0 }])).toBe(
      'resource pool "Public" has 0.5 CPU, 6 GB memory and 1 GPU left, but class "large" needs 4 CPU, 16 GB memory and 0 GPU: ' +
        'your sessions holding its resources are "Notebook" (running, 1 CPU, 2 GB); hibernate or delete one of them, or choose a smaller class',
    );
    expect(quotaShortfall('Public', 'large', { cpu: 4, memoryGb: 16, gpu: 0 }, quota, used, [])).toMatch(
      /: none of it is held by your sessions \(other people's use it\); choose a smaller class or one of another pool, or ask an administrator for a larger quota$/,
    );
  });
});

describe("a pool's sessions per user", () => {
  it("takes the pool's own limit over the service's default", () => {
    expect(sessionsPerUserLimit(2, 10)).toBe(2);
    expect(sessionsPerUserLimit(null, 10)).toBe(10);
  });

  it('lets a user start sessions up to the limit and refuses the next, naming the pool, the limit and what to do', () => {
    expect(sessionLimitProblem('Public', 2, 1)).toBeNull();
    expect(sessionLimitProblem('Public', 2, 2)).toBe(
      'you already have 2 sessions starting or running in resource pool "Public", the most one user may have there (2): hibernate or delete one of them first, or choose a class in another pool',
    );
    expect(sessionLimitProblem('GPU', 1, 1)).toMatch(/^you already have 1 session starting/);
  });
});
