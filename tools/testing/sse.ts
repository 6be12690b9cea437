import { originFetch } from './origins.js';

/** Reads a server-sent event stream over a real HTTP connection until `until` is satisfied. */
export interface SseEvent {
  id?: string;
  event: string;
  data: any;
}

export async function readSse(
  url: string,
  headers: Record<string, string>,
  until: (events: SseEvent[]) => boolean,
  timeoutMs = 30_000,
): Promise<{ status: number; contentType: string | null; events: SseEvent[] }> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  const events: SseEvent[] = [];
  try {
    const res = await originFetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
    if (!res.ok || !res.body) return { status: res.status, contentType: res.headers.get('content-type'), events };
    const decoder = new TextDecoder();
    let buffer = '';
    const reader = res.body.getReader();
    try {
      while (!until(events)) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event: SseEvent = { event: 'message', data: undefined };
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) continue;
            const [field, ...rest] = line.split(':');
            const value = rest.join(':').replace(/^ /, '');
            if (field === 'id') event.id = value;
            else if (field === 'event') event.event = value;
            else if (field === 'data') event.data = JSON.parse(value);
          }
          if (event.data !== undefined) events.push(event);
        }
      }
    } catch (error) {
      if (!abort.signal.aborted) throw error;
      throw new Error(`timed out after ${timeoutMs} ms reading ${url}; got ${JSON.stringify(events.map((e) => e.data?.phase ?? e.event))}`);
    } finally {
      abort.abort();
    }
    return { status: res.status, contentType: res.headers.get('content-type'), events };
  } finally {
    clearTimeout(timer);
  }
}
