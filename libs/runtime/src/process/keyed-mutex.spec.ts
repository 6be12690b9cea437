import { KeyedMutex } from './keyed-mutex.js';

describe('KeyedMutex', () => {
  it('runs calls for one key one after the other, in order', async () => {
    const mutex = new KeyedMutex();
    const events: string[] = [];
    let releaseFirst!: () => void;
    const first = mutex.run('a', async () => {
      events.push('first in');
      await new Promise<void>((resolve) => (releaseFirst = resolve));
      events.push('first out');
    });
    const second = mutex.run('a', async () => {
      events.push('second');
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(events).toEqual(['first in']);
    releaseFirst();
    await Promise.all([first, second]);
    expect(events).toEqual(['first in', 'first out', 'second']);
  });

  it('does not make one key wait for another', async () => {
    const mutex = new KeyedMutex();
    let releaseA!: () => void;
    const a = mutex.run('a', () => new Promise<void>((resolve) => (releaseA = resolve)));
    await expect(mutex.run('b', async () => 'b done')).resolves.toBe('b done');
    releaseA();
    await a;
  });

  it('keeps going after a call fails', async () => {
    const mutex = new KeyedMutex();
    await expect(mutex.run('a', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(mutex.run('a', async () => 'next')).resolves.toBe('next');
  });
});
