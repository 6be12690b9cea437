import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkloadLocks } from './workload-locks.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('WorkloadLocks (one change of a workload at a time across the processes over one data directory)', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'lp-locks-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('lets a second holder (another replica, here another instance) in only once the first is done', async () => {
    const a = new WorkloadLocks(dir);
    const b = new WorkloadLocks(dir);
    const events: string[] = [];
    const first = a.run('w1', async () => {
      events.push('a in');
      await sleep(150);
      events.push('a out');
    });
    await sleep(20);
    const second = b.run('w1', async () => {
      events.push('b in');
    });
    // Another workload is not held up by it.
    await b.run('w2', async () => void events.push('b w2'));
    await Promise.all([first, second]);
    expect(events).toEqual(['a in', 'b w2', 'a out', 'b in']);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('releases the lock when the work throws', async () => {
    const a = new WorkloadLocks(dir);
    await expect(a.run('w1', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(new WorkloadLocks(dir).run('w1', async () => 'next')).resolves.toBe('next');
  });

  it('takes over a lock left by a process that has gone (killed while holding it)', async () => {
    const gone = spawnSync('true').pid!;
    writeFileSync(join(dir, 'w1'), JSON.stringify({ pid: gone, startTime: '1', instance: 'x' }));
    await expect(new WorkloadLocks(dir).run('w1', async () => 'taken over')).resolves.toBe('taken over');
  });

  it('waits for a lock held by a process that still runs', async () => {
    // This test process stands for the other replica (the same pid, another instance).
    const other = new WorkloadLocks(dir);
    let release!: () => void;
    const held = other.run('w1', () => new Promise<void>((r) => (release = r)));
    await sleep(20);
    let entered = false;
    const waiting = new WorkloadLocks(dir).run('w1', async () => void (entered = true));
    await sleep(100);
    expect(entered).toBe(false);
    release();
    await Promise.all([held, waiting]);
    expect(entered).toBe(true);
  });
});
