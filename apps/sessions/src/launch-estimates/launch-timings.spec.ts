import { estimateFrom, stepNote, timingOf } from './launch-timings.js';

const t0 = Date.parse('2026-12-02T10:00:00Z');
const at = (s: number) => new Date(t0 + s * 1000);

describe('timingOf', () => {
  it('times each step of the last start up to ready, a step that came twice summed', () => {
    const timing = timingOf([
      { phase: 'queued', at: at(0) },
      { phase: 'preparing', at: at(1) },
      { phase: 'starting', at: at(9) },
      { phase: 'ready', at: at(12) },
      { phase: 'hibernating', at: at(100) },
      { phase: 'hibernated', at: at(101) },
      { phase: 'resuming', at: at(200) },
      { phase: 'preparing', at: at(200.5) },
      { phase: 'starting', at: at(201) },
      { phase: 'starting', at: at(202) },
      { phase: 'ready', at: at(204) },
    ]);
    expect(timing).toEqual({ kind: 'resume', steps: { resuming: 500, preparing: 500, starting: 3000 }, totalMs: 4000, readyAt: at(204).toISOString() });
  });

  it('knows no timing of a start that never got ready', () => {
    expect(timingOf([{ phase: 'queued', at: at(0) }, { phase: 'failed', at: at(3) }])).toBeNull();
    expect(timingOf([])).toBeNull();
  });
});

describe('estimates', () => {
  const timing = { kind: 'launch' as const, steps: { queued: 1000, preparing: 8000, starting: 3000 }, totalMs: 12_000, readyAt: at(12).toISOString() };
  it('expects the same total from the new start', () => {
    expect(estimateFrom(timing, at(60))).toMatchObject({ expectedReadyAt: at(72).toISOString() });
    expect(estimateFrom(null, at(60))).toBeNull();
  });
  it('says on the stream how long the step took last time', () => {
    expect(stepNote(timing, 'preparing')).toBe('the last launch of this launcher spent 8.0 s on this step (12 s in all)');
    expect(stepNote(timing, 'ready')).toBeNull();
    expect(stepNote(timing, 'waiting-for-image')).toBeNull();
    expect(stepNote(null, 'preparing')).toBeNull();
  });
});
