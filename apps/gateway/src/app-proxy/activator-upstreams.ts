/**
 * The apps activators the gateway may pass a share link to (APPS_ACTIVATOR_URL, comma-separated).
 * Every apps replica runs an activator that can serve any app (they share the routes through the
 * apps service), so any of them will do: requests rotate over those not known to be down, and an
 * activator that refused a connection is tried last for `downForMs`, so losing one apps replica
 * costs at most the requests that were in flight on it. In a cluster one Service URL in front of
 * the replicas does the same; the list is for activators addressed directly.
 */
export class ActivatorUpstreams {
  private readonly downUntil = new Map<string, number>();
  private next = 0;

  constructor(
    readonly urls: readonly string[],
    private readonly downForMs = 5_000,
    private readonly now: () => number = Date.now,
  ) {
    if (urls.length === 0) throw new Error('at least one apps activator URL is needed');
  }

  /** The activators to try for one request, in order: those not recently down first (rotated), then the rest. */
  order(): string[] {
    const start = this.next;
    this.next = (this.next + 1) % this.urls.length;
    const rotated = [...this.urls.slice(start), ...this.urls.slice(0, start)];
    const at = this.now();
    const up = rotated.filter((u) => (this.downUntil.get(u) ?? 0) <= at);
    return [...up, ...rotated.filter((u) => !up.includes(u))];
  }

  /** The activator could not be reached: try the others first for a while. */
  failed(url: string): void {
    this.downUntil.set(url, this.now() + this.downForMs);
  }
}

/** Errors that mean the request never reached the activator, so trying another one is safe. */
const NOT_REACHED = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT']);

export function neverReached(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && NOT_REACHED.has(code);
}

/** A request without a body can be sent again to another activator (a body has been streamed away). */
export function hasNoBody(headers: Record<string, string | string[] | undefined>): boolean {
  return !headers['transfer-encoding'] && (headers['content-length'] === undefined || headers['content-length'] === '0');
}

/** Parses APPS_ACTIVATOR_URL: one or more URLs, comma-separated, trailing slashes dropped. */
export function parseActivatorUrls(value: string): string[] {
  return value
    .split(',')
    .map((u) => u.trim().replace(/\/+$/, ''))
    .filter((u) => u.length > 0);
}
