import { Injectable } from '@nestjs/common';

/** What a running Jupyter says about its own use (its /api/status and /api/kernels). */
export interface JupyterActivity {
  /** /api/status `last_activity`: the latest of its start, its API requests and its kernels' activity. */
  lastActivity: Date | null;
  kernels: number;
  busyKernels: number;
  /** Open kernel WebSockets (a browser tab): reported, not counted as use (an abandoned tab would keep a GPU for ever). */
  connections: number;
  /** The latest `last_activity` of a kernel: when it last sent anything (ran code, printed, went idle). */
  kernelActivity: Date | null;
}

export class ActivityProbeError extends Error {}

/** Jupyter gives times as ISO strings in UTC, with or without a zone; anything else is no time. */
function timeOf(value: unknown): Date | null {
  if (typeof value !== 'string') return null;
  const t = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : `${value}Z`);
  return Number.isNaN(t) ? null : new Date(t);
}

const latest = (dates: (Date | null)[]): Date | null =>
  dates.reduce<Date | null>((a, d) => (d && (!a || d > a) ? d : a), null);

/**
 * Asks a session's running Jupyter how it is used, with the session's own token (the one side
 * effect of idle culling besides the table). `?no_track_activity=1` keeps the question itself
 * from counting as activity (Notebook 6 and Jupyter Server both honour it; /api/status never
 * counts), so that asking does not keep a session alive.
 */
@Injectable()
export class ActivityProbe {
  // Generous: a loaded machine answers slowly, and a Jupyter that does not answer keeps nothing alive.
  constructor(private readonly timeoutMs = 10_000) {}

  async jupyter(endpoint: string, authorization: string): Promise<JupyterActivity> {
    const status = await this.get(endpoint, '/api/status', authorization);
    const kernels = await this.get(endpoint, '/api/kernels?no_track_activity=1', authorization);
    if (!status || typeof status !== 'object' || !Array.isArray(kernels)) throw new ActivityProbeError('Jupyter answered /api/status or /api/kernels with something else than its API');
    const s = status as { last_activity?: unknown; kernels?: unknown; connections?: unknown };
    const list = kernels as { execution_state?: unknown; last_activity?: unknown; connections?: unknown }[];
    return {
      lastActivity: timeOf(s.last_activity),
      kernels: typeof s.kernels === 'number' ? s.kernels : list.length,
      busyKernels: list.filter((k) => k.execution_state === 'busy').length,
      connections: typeof s.connections === 'number' ? s.connections : list.reduce((n, k) => n + (typeof k.connections === 'number' ? k.connections : 0), 0),
      kernelActivity: latest(list.map((k) => timeOf(k.last_activity))),
    };
  }

  private async get(endpoint: string, path: string, authorization: string): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(`${endpoint.replace(/\/+$/, '')}${path}`, { headers: { authorization, accept: 'application/json' }, signal: AbortSignal.timeout(this.timeoutMs), redirect: 'manual' });
    } catch (error) {
      throw new ActivityProbeError(`Jupyter did not answer ${path.split('?')[0]}: ${(error as Error).message}`);
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new ActivityProbeError(`Jupyter answered ${path.split('?')[0]} with HTTP ${res.status}`);
    }
    const text = await boundedText(res, MAX_ANSWER_BYTES);
    if (text === null) throw new ActivityProbeError(`Jupyter answered ${path.split('?')[0]} with more than ${MAX_ANSWER_BYTES / 1024} KiB`);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new ActivityProbeError(`Jupyter's ${path.split('?')[0]} is not JSON`);
    }
  }
}

/**
 * The most of an answer read: /api/kernels is about 300 bytes a kernel. The program answering is
 * the user's (any environment may say it takes a Jupyter token), and this service is everyone's:
 * a body read whole, however large, held gigabytes of it in memory and its parse the event loop
 * for seconds, every few seconds per idle session.
 */
export const MAX_ANSWER_BYTES = 1024 * 1024;

/** The body as text, or null (and the rest of it cancelled) once it passes `limit` bytes. */
async function boundedText(res: Response, limit: number): Promise<string | null> {
  const declared = Number(res.headers.get('content-length'));
  if (declared > limit || !res.body) {
    await res.body?.cancel();
    return declared > limit ? null : '';
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = res.body.getReader();
  for (;;) {
    const read = await reader.read().catch((error: unknown) => {
      throw new ActivityProbeError(`Jupyter's answer broke off: ${(error as Error).message}`);
    });
    if (read.done) break;
    size += read.value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      return null;
    }
    chunks.push(read.value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
