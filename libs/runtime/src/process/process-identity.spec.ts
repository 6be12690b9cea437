import { parseProcStat } from './process-identity.js';

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
