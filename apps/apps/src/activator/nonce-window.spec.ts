import { NonceWindow } from './nonce-window.js';

describe('the activator\'s nonce window', () => {
  it('takes a nonce once, and refuses its replay for as long as its signature could be valid', () => {
    const window = new NonceWindow(30_000);
    const t0 = 1_000_000;
    expect(window.firstUse('a1', t0, t0)).toBe(true);
    expect(window.firstUse('a1', t0, t0 + 10)).toBe(false);
    expect(window.firstUse('b2', t0, t0 + 10)).toBe(true);
    // Across a rotation, a nonce still inside its window is remembered.
    expect(window.firstUse('c3', t0 + 59_000, t0 + 59_000)).toBe(true);
    expect(window.firstUse('z9', t0 + 61_000, t0 + 61_000)).toBe(true);
    expect(window.firstUse('c3', t0 + 59_000, t0 + 61_500)).toBe(false);
  });
});
