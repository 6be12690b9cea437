import { ReconcileQueue } from './reconcile-queue.js';

describe('ReconcileQueue', () => {
  it('runs one reconcile per key at a time, and once more for wakes that came during it', async () => {
    const runs: string[] = [];
    let release!: () => void;
    const first = new Promise<void>((r) => (release = r));
    let calls = 0;
    const queue = new ReconcileQueue(
      async (key) => {
        runs.push(key);
        if (calls++ === 0) await first;
      },
      () => undefined,
    );
    queue.wake('a');
    queue.wake('a');
    queue.wake('a');
    queue.wake('b');
    expect(runs).toEqual(['a', 'b']);
    release();
    await queue.settle();
    expect(runs).toEqual(['a', 'b', 'a']);
  });

  it('reports a failed reconcile and keeps serving the key', async () => {
    const errors: string[] = [];
    let fail = true;
    const done: string[] = [];
    const queue = new ReconcileQueue(
      async (key) => {
        if (fail) throw new Error(`boom ${key}`);
        done.push(key);
      },
      (key, error) => errors.push(`${key}: ${(error as Error).message}`),
    );
    queue.wake('x');
    await queue.settle();
    fail = false;
    queue.wake('x');
    await queue.settle();
    expect(errors).toEqual(['x: boom x']);
    expect(done).toEqual(['x']);
  });
});
