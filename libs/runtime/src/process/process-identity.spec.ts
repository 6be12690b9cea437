import { liveUidOf, parseProcStat } from './process-identity.js';

describe('parseProcStat', () => {
  const tail = '9368 9368 7318 0 -1 4194304 99 0 0 0 0 0 0 0 20 0 1 0 48160 3133440 412 18446744073709551615 0';

  it('reads the state, parent, group and start time (field 22)', () => {
    expect(parseProcStat(`9370 (cat) R ${tail}`)).toEqual({ state: 'R', ppid: 9368, pgrp: 9368, startTime: '48160' });
  });

  it('is not fooled by spaces and parentheses in the command name', () => {
    expect(parseProcStat(`9370 (my (odd) prog) S ${tail}`)).toEqual({ state: 'S', ppid: 9368, pgrp: 9368, startTime: '48160' });
  });

  it('returns null for something that is not a stat line', () => {
    expect(parseProcStat('')).toBeNull();
    expect(parseProcStat('1 (x) R 1 2')).toBeNull();
  });
});

describe('liveUidOf', () => {
  const status = (state: string, uid: number) => `Name:\tsleep\nState:\t${state}\nTgid:\t7\nUid:\t${uid}\t${uid}\t${uid}\t${uid}\nGid:\t${uid}\t${uid}\t${uid}\t${uid}\n`;
  it('reads the real uid of a process that runs', () => {
    expect(liveUidOf(status('S (sleeping)', 181004))).toBe(181004);
    expect(liveUidOf(status('R (running)', 0))).toBe(0);
  });
  it('counts a zombie (ended, not yet reaped) and an unreadable status as no process', () => {
    expect(liveUidOf(status('Z (zombie)', 181004))).toBeNull();
    expect(liveUidOf('')).toBeNull();
  });
});
