import { WakeSignal } from './wake-signal.js';

describe('WakeSignal', () => {
  const make = () => {
    const sent: string[] = [];
    return { signal: new WakeSignal((id, waiting, replicas) => sent.push(`${id}: ${replicas} for ${waiting}`)), sent };
  };

  it('asks for ceil(waiting / capacity) replicas as a burst grows, once per step', () => {
    const { signal, sent } = make();
    for (let waiting = 1; waiting <= 25; waiting++) signal.waiting('app', waiting, 10);
    expect(sent).toEqual(['app: 1 for 1', 'app: 2 for 11', 'app: 3 for 21']);
  });

  it('asks for one replica of an app without a capacity', () => {
    const { signal, sent } = make();
    for (let waiting = 1; waiting <= 50; waiting++) signal.waiting('app', waiting, Infinity);
    expect(sent).toEqual(['app: 1 for 1']);
  });

  it('asks afresh for the next cold start, and for each app on its own', () => {
    const { signal, sent } = make();
    signal.waiting('app', 1, 10);
    signal.waiting('other', 1, 10);
    signal.settled('app');
    signal.waiting('app', 1, 10);
    expect(sent).toEqual(['app: 1 for 1', 'other: 1 for 1', 'app: 1 for 1']);
  });
});
