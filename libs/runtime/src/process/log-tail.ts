import { type FileHandle, open } from 'node:fs/promises';

const CHUNK_BYTES = 64 * 1024;
const NEWLINE = 0x0a;

/** The last `count` lines of a text, without the empty "line" after a final newline. */
export function lastLines(text: string, count: number): string[] {
  if (count <= 0 || text === '') return [];
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines.slice(-count).map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
}

/**
 * The last `count` lines of a file, read backwards from its end in chunks, so that a large log
 * costs about as much as its tail. Reads at most `maxBytes`: then fewer lines, whole ones (a log
 * with no line breaks at all gives the end of its last line). A missing file has no lines.
 */
export async function tailFile(path: string, count: number, maxBytes = 4 * 1024 * 1024): Promise<string[]> {
  return (await tailFileAt(path, count, maxBytes)).lines;
}

/** `tailFile`, with the file's size when it was read: where a follower goes on from. */
export async function tailFileAt(path: string, count: number, maxBytes = 4 * 1024 * 1024): Promise<{ lines: string[]; size: number }> {
  const handle = await openIfExists(path);
  if (!handle) return { lines: [], size: 0 };
  try {
    const size = (await handle.stat()).size;
    if (count <= 0) return { lines: [], size };
    let position = size;
    const chunks: Buffer[] = [];
    let bytes = 0;
    let newlines = 0;
    // count + 1 line breaks: one may end the file, one must precede the first line we return.
    while (position > 0 && newlines <= count && bytes < maxBytes) {
      const length = Math.min(CHUNK_BYTES, position, maxBytes - bytes);
      position -= length;
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, position);
      const chunk = buffer.subarray(0, bytesRead);
      chunks.unshift(chunk);
      bytes += bytesRead;
      for (const byte of chunk) if (byte === NEWLINE) newlines++;
    }
    let read = Buffer.concat(chunks);
    if (position > 0 && newlines <= count) {
      // Cut short by maxBytes: the window starts inside a line; leave that piece out, unless it is all there is.
      const firstBreak = read.indexOf(NEWLINE);
      if (firstBreak >= 0 && firstBreak < read.length - 1) read = read.subarray(firstBreak + 1);
    }
    // Decoded once, whole, so that a character split between two chunks is not garbled.
    return { lines: lastLines(read.toString('utf8'), count), size };
  } finally {
    await handle.close();
  }
}

/**
 * The complete lines written at or after byte `offset`, at most about `maxBytes` of them, and the
 * offset to read from next time (after the last complete line: a line still being written is
 * returned once it ends). A file now shorter than `offset` was replaced: it is read from its start.
 */
export async function linesAfter(path: string, offset: number, maxBytes = 256 * 1024): Promise<{ lines: string[]; next: number }> {
  const handle = await openIfExists(path);
  if (!handle) return { lines: [], next: 0 };
  try {
    const size = (await handle.stat()).size;
    const from = size < offset ? 0 : offset;
    const length = Math.min(size - from, maxBytes);
    if (length <= 0) return { lines: [], next: from };
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, from);
    const read = buffer.subarray(0, bytesRead);
    const end = read.lastIndexOf(NEWLINE);
    // No line break in a whole window: one very long line, returned in pieces rather than never.
    const complete = end >= 0 ? read.subarray(0, end + 1) : bytesRead === maxBytes ? read : read.subarray(0, 0);
    return { lines: lastLines(complete.toString('utf8'), Number.MAX_SAFE_INTEGER), next: from + complete.length };
  } finally {
    await handle.close();
  }
}

/** A missing file (a workload that never wrote output) has nothing to read: null. */
async function openIfExists(path: string): Promise<FileHandle | null> {
  try {
    return await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}
