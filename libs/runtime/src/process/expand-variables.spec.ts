import { expandVariables } from './expand-variables.js';

describe('expandVariables (Kubernetes $(VAR) rules)', () => {
  const vars = { PORT: '8888', BASE: '/sessions/s1/', EMPTY: '' };

  it.each([
    ['--port=$(PORT)', '--port=8888'],
    ['$(PORT)$(PORT)', '88888888'],
    ['$(BASE)lab', '/sessions/s1/lab'],
    ['x$(EMPTY)y', 'xy'],
    ['$(NOPE)', '$(NOPE)'],
    ['a $(NOPE) b $(PORT)', 'a $(NOPE) b 8888'],
    ['$$(PORT)', '$(PORT)'],
    ['$$$(PORT)', '$8888'],
    ['$$$$(PORT)', '$$(PORT)'],
    ['$$', '$'],
    ['price: $5', 'price: $5'],
    ['ends with $', 'ends with $'],
    ['$(PORT', '$(PORT'],
    ['$(', '$('],
    ['$()', '$()'],
    ['no variables', 'no variables'],
    ['', ''],
    ['$(toString)', '$(toString)'],
  ])('%s becomes %s', (input, expected) => {
    expect(expandVariables(input, vars)).toBe(expected);
  });

  it('does not expand a value a second time', () => {
    expect(expandVariables('$(A)', { A: '$(B)', B: 'no' })).toBe('$(B)');
  });
});
