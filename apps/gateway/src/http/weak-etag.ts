import { hash } from 'node:crypto';

/**
 * Express's own weak ETag (`W/"<length in hex>-<first 27 of the body's SHA-1 in base64>"`, the
 * `etag` package's), made with one `crypto.hash` call rather than a Hash object, an update and a
 * digest per response: the same header, so clients' If-None-Match keeps working as before.
 * Express hands it the body as a Buffer (it makes one to set Content-Length); a string is UTF-8.
 */
export function weakEtag(body: Buffer | string, encoding?: BufferEncoding): string {
  const bytes = typeof body === 'string' ? Buffer.from(body, encoding) : body;
  if (bytes.length === 0) return 'W/"0-2jmj7l5rSw0yVb/vlWAYkK/YBwk"';
  return `W/"${bytes.length.toString(16)}-${hash('sha1', bytes, 'base64').slice(0, 27)}"`;
}
