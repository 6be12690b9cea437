import { open } from 'node:fs/promises';

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
 * costs about as much as its tail. Reads at most `maxBytes` (a log with no line breaks at all
 * then gives the end of its last line). A missing file has no lines.
 */
export async function tailFile(path: string, count: number, maxBytes = 4 * 1024 * 1024): Promise<string[]> {
  if (count <= 0) return [];
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  try {
    let position = (await handle.stat()).size;
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
    // Decoded once, whole, so that a character split between two chunks is not garbled.
    return lastLines(Buffer.concat(chunks).toString('utf8'), count);
  } finally {
    await handle.close();
  }
}
