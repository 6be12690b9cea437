import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastLines, tailFile } from './log-tail.js';

describe('lastLines', () => {
  it('drops the empty line after a final newline', () => {
    expect(lastLines('a\nb\nc\n', 2)).toEqual(['b', 'c']);
  });

  it('keeps a last line that has no newline yet', () => {
    expect(lastLines('a\nb\nc', 2)).toEqual(['b', 'c']);
  });

  it('gives every line when there are fewer than asked, and none for zero', () => {
    expect(lastLines('a\n', 5)).toEqual(['a']);
    expect(lastLines('a\nb\n', 0)).toEqual([]);
    expect(lastLines('', 3)).toEqual([]);
  });

  it('keeps empty lines inside the text and strips carriage returns', () => {
    expect(lastLines('a\r\n\r\nb\r\n', 3)).toEqual(['a', '', 'b']);
  });
});

describe('tailFile', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'lp-tail-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the last lines of a file much larger than one chunk', async () => {
    const path = join(dir, 'big.log');
    const lines = Array.from({ length: 100_000 }, (_, i) => `line ${i} ${'é'.repeat(i % 7)}`);
    writeFileSync(path, `${lines.join('\n')}\n`);
    expect(await tailFile(path, 3)).toEqual(lines.slice(-3));
    expect(await tailFile(path, 5000)).toEqual(lines.slice(-5000));
  });

  it('gives the whole file when it has fewer lines than asked', async () => {
    const path = join(dir, 'small.log');
    writeFileSync(path, 'one\ntwo');
    expect(await tailFile(path, 10)).toEqual(['one', 'two']);
  });

  it('reads no more than the byte limit from a file without line breaks', async () => {
    const path = join(dir, 'one-line.log');
    writeFileSync(path, 'x'.repeat(100_000));
    expect(await tailFile(path, 2, 1000)).toEqual(['x'.repeat(1000)]);
  });

  it('has no lines for a missing file', async () => {
    expect(await tailFile(join(dir, 'missing.log'), 10)).toEqual([]);
  });
});
