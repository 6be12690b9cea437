import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastLines, linesAfter, tailFile, tailFileAt } from './log-tail.js';

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

  it('gives whole lines only when the byte limit cuts the window short', async () => {
    const path = join(dir, 'long-lines.log');
    const lines = Array.from({ length: 50 }, (_, i) => `${String(i).padStart(2, '0')} ${'y'.repeat(97)}`);
    writeFileSync(path, `${lines.join('\n')}\n`);
    // 1000 bytes hold the last 9 lines (100 bytes each and a newline) and a piece of the 10th.
    expect(await tailFile(path, 20, 1000)).toEqual(lines.slice(-9));
    expect(await tailFileAt(path, 5, 1000)).toEqual({ lines: lines.slice(-5), size: 5050 });
  });

  it('has no lines for a missing file', async () => {
    expect(await tailFile(join(dir, 'missing.log'), 10)).toEqual([]);
  });
});

describe('following a file: tailFileAt and linesAfter', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'lp-follow-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('goes on from the tail with what is written after it, a line once it is complete', async () => {
    const path = join(dir, 'out.log');
    writeFileSync(path, 'one\ntwo\n');
    const tail = await tailFileAt(path, 1);
    expect(tail).toEqual({ lines: ['two'], size: 8 });
    appendFileSync(path, 'three\nfou');
    const next = await linesAfter(path, tail.size);
    expect(next).toEqual({ lines: ['three'], next: 14 });
    appendFileSync(path, 'r\n');
    expect(await linesAfter(path, next.next)).toEqual({ lines: ['four'], next: 19 });
    expect(await linesAfter(path, 19)).toEqual({ lines: [], next: 19 });
  });

  it('reads a bounded window at a time, and a replaced file from its start', async () => {
    const path = join(dir, 'out.log');
    writeFileSync(path, 'aaaa\nbbbb\ncccc\n');
    const first = await linesAfter(path, 0, 12);
    expect(first).toEqual({ lines: ['aaaa', 'bbbb'], next: 10 });
    expect(await linesAfter(path, first.next, 12)).toEqual({ lines: ['cccc'], next: 15 });
    writeFileSync(path, 'new\n');
    expect(await linesAfter(path, 15)).toEqual({ lines: ['new'], next: 4 });
    expect(await linesAfter(join(dir, 'missing.log'), 7)).toEqual({ lines: [], next: 0 });
    expect(await tailFileAt(join(dir, 'missing.log'), 3)).toEqual({ lines: [], size: 0 });
  });
});
