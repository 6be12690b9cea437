import { ActivatorUpstreams, hasNoBody, neverReached, parseActivatorUrls } from './activator-upstreams.js';

describe('apps activator upstreams', () => {
  it('reads one URL or several, comma-separated, without trailing slashes', () => {
    expect(parseActivatorUrls('http://apps:3003/')).toEqual(['http://apps:3003']);
    expect(parseActivatorUrls(' http://a:3003, http://b:3003/ ,')).toEqual(['http://a:3003', 'http://b:3003']);
  });

  it('rotates over the activators', () => {
    const up = new ActivatorUpstreams(['a', 'b', 'c']);
    expect([up.order()[0], up.order()[0], up.order()[0], up.order()[0]]).toEqual(['a', 'b', 'c', 'a']);
  });

  it('tries an activator that refused a connection last, until its time out is over', () => {
    let now = 1_000;
    const up = new ActivatorUpstreams(['a', 'b'], 5_000, () => now);
    up.failed('a');
    expect(up.order()).toEqual(['b', 'a']);
    expect(up.order()).toEqual(['b', 'a']);
    now += 5_000;
    expect(up.order()).toEqual(['a', 'b']);
  });

  it('still tries every activator when all are down', () => {
    const up = new ActivatorUpstreams(['a', 'b'], 5_000, () => 0);
    up.failed('a');
    up.failed('b');
    expect(up.order().sort()).toEqual(['a', 'b']);
  });

  it('goes on to another activator only for requests that never reached one, and have no body', () => {
    expect(neverReached(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(neverReached(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toBe(false);
    expect(hasNoBody({})).toBe(true);
    expect(hasNoBody({ 'content-length': '0' })).toBe(true);
    expect(hasNoBody({ 'content-length': '12' })).toBe(false);
    expect(hasNoBody({ 'transfer-encoding': 'chunked' })).toBe(false);
  });
});
