import { isRetryableTransactionError, isTransientDatabaseError, retryTransient, sqlStateOf } from './transient-errors.js';

/** What TypeORM throws for a failed query: a QueryFailedError whose driverError is pg's, with the SQLSTATE in `code`. */
const pgError = (code: string, message = `failed with ${code}`) => Object.assign(new Error(message), { driverError: { code } });

describe('transient database errors', () => {
  const noWait = { sleep: async () => undefined, onRetry: () => undefined, delayMs: () => 0 };

  it('reads the SQL state from TypeORM errors and pg errors', () => {
    expect(sqlStateOf(pgError('40P01'))).toBe('40P01');
    expect(sqlStateOf(Object.assign(new Error('x'), { code: '23505' }))).toBe('23505');
    expect(sqlStateOf(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBeUndefined();
    expect(sqlStateOf(new Error('plain'))).toBeUndefined();
  });

  it('retries deadlocks and serialization failures only; answers lock timeouts and lost connections as transient', () => {
    expect(isRetryableTransactionError(pgError('40P01'))).toBe(true);
    expect(isRetryableTransactionError(pgError('40001'))).toBe(true);
    expect(isRetryableTransactionError(pgError('23505'))).toBe(false);
    expect(isTransientDatabaseError(pgError('55P03'))).toBe(true);
    expect(isTransientDatabaseError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isTransientDatabaseError(pgError('42P01'))).toBe(false);
  });

  it('runs a transaction that lost a deadlock again, and returns what the next run returns', async () => {
    const outcomes = [pgError('40P01'), pgError('40001'), 'launched'];
    let runs = 0;
    const work = async () => {
      runs++;
      const next = outcomes.shift();
      if (next instanceof Error) throw next;
      return next;
    };
    const retried: number[] = [];
    const slept: number[] = [];
    const result = await retryTransient('launch', work, {
      delayMs: (retry) => retry * 10,
      sleep: async (ms) => void slept.push(ms),
      onRetry: (_what, _error, retry) => void retried.push(retry),
    });
    expect(result).toBe('launched');
    expect(runs).toBe(3);
    expect(retried).toEqual([1, 2]);
    expect(slept).toEqual([10, 20]);
  });

  it('gives up after the bounded number of runs and throws the last deadlock', async () => {
    let runs = 0;
    const work = async () => {
      runs++;
      throw pgError('40P01', 'deadlock detected');
    };
    await expect(retryTransient('resume', work, { ...noWait, attempts: 3 })).rejects.toThrow('deadlock detected');
    expect(runs).toBe(3);
  });

  it('does not run again what failed for another reason', async () => {
    let runs = 0;
    const work = async () => {
      runs++;
      throw pgError('23505', 'duplicate key');
    };
    await expect(retryTransient('create', work, noWait)).rejects.toThrow('duplicate key');
    expect(runs).toBe(1);
  });
});
