import { createRequire } from 'node:module';
import { weakEtag } from './weak-etag.js';

// Express's own generator, as `app.set('etag', 'weak')` compiles it.
const { compileETag } = createRequire(import.meta.url)('express/lib/utils.js') as { compileETag: (value: unknown) => (body: Buffer | string, encoding?: BufferEncoding) => string };
const express = compileETag('weak');

describe("the gateway's weak ETag", () => {
  it.each([
    ['an empty body', ''],
    ['a JSON list', JSON.stringify({ items: [{ id: 'e1', name: 'Jupyter', keywords: ['python'] }] })],
    ['text beyond ASCII', '{"name":"Übung — 数据 🚀"}'],
    ['a large body', 'x'.repeat(100_000)],
  ])('is the one Express makes for %s, as a Buffer and as a string', (_what, text) => {
    expect(weakEtag(Buffer.from(text))).toBe(express(Buffer.from(text)));
    expect(weakEtag(text, 'utf8')).toBe(express(text, 'utf8'));
  });

  it('tells different bodies apart', () => {
    expect(weakEtag(Buffer.from('{"a":1}'))).not.toBe(weakEtag(Buffer.from('{"a":2}')));
    expect(weakEtag(Buffer.from('{"a":1}'))).toMatch(/^W\/"7-[A-Za-z0-9+/]{27}"$/);
  });
});
