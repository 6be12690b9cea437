import type * as k8s from '@kubernetes/client-node';

/** What an informer needs: a list that returns items and the list's resourceVersion, and a watch path. */
export interface ListWatchSource<T> {
  /** e.g. `pods`: for logs and metrics. */
  resource: string;
  list(): Promise<{ items: T[]; resourceVersion: string }>;
  /** The collection path, e.g. `/api/v1/namespaces/ns/pods`. */
  path: string;
  labelSelector: string;
}

export type InformerEvent = 'added' | 'modified' | 'deleted' | 'relisted';

export interface InformerOptions {
  /** A full re-list this often, so that what a watch missed is caught up (client-go's resync period). */
  resyncMs: number;
  /** Backoff after a failed list or a watch that could not start. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  onError?: (resource: string, error: unknown) => void;
}

interface Named {
  metadata?: { name?: string; resourceVersion?: string };
}

/**
 * client-go's reflector and store, small: list, then watch from the list's resourceVersion; a
 * `410 Gone` (as a watch ERROR event with code 410, or as HTTP 410) means our version was
 * compacted away, so we list again and diff against the cache (deletions we missed become
 * `deleted`); any other end of the watch resumes from the last version seen, after a backoff if it
 * failed. A periodic re-list catches anything else. The cache is what `list()` and `status()` read.
 *
 * Objects are kept as the API sends them (JSON): timestamps are strings.
 */
export class Informer<T extends Named> {
  private readonly cache = new Map<string, T>();
  private resourceVersion = '';
  private abort: AbortController | null = null;
  private stopped = false;
  private resyncTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private backoffMs: number;
  private readonly listeners = new Set<(event: InformerEvent, object: T | null) => void>();
  private syncedResolve!: () => void;
  /** Resolves after the first successful list. */
  readonly synced: Promise<void> = new Promise((resolve) => (this.syncedResolve = resolve));
  /** Counters for tests and metrics: how often we listed, and how often because of a 410. */
  readonly stats = { lists: 0, gone: 0, watches: 0, errors: 0 };

  constructor(
    private readonly source: ListWatchSource<T>,
    private readonly watcher: k8s.Watch,
    private readonly options: InformerOptions,
  ) {
    this.backoffMs = options.minBackoffMs ?? 200;
  }

  start(): void {
    void this.relist();
    this.resyncTimer = setInterval(() => void this.relist(), this.options.resyncMs);
    this.resyncTimer.unref();
  }

  stop(): void {
    this.stopped = true;
    this.abort?.abort();
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
  }

  on(listener: (event: InformerEvent, object: T | null) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get(name: string): T | undefined {
    return this.cache.get(name);
  }

  values(): T[] {
    return [...this.cache.values()];
  }

  /** Puts what a write returned into the cache at once, so a read right after our own write sees it (the watch event confirms it later). */
  upsert(object: T): void {
    const name = object.metadata?.name;
    if (!name) return;
    const existing = this.cache.get(name);
    if (existing && Number(existing.metadata?.resourceVersion) >= Number(object.metadata?.resourceVersion)) return;
    this.cache.set(name, object);
    this.emit(existing ? 'modified' : 'added', object);
  }

  forget(name: string): void {
    const existing = this.cache.get(name);
    if (!existing) return;
    this.cache.delete(name);
    this.emit('deleted', existing);
  }

  private emit(event: InformerEvent, object: T | null): void {
    for (const l of this.listeners) l(event, object);
  }

  private listing: Promise<void> | null = null;

  /** Lists and replaces the cache, then (re)starts the watch from the list's version. */
  private relist(): Promise<void> {
    if (this.listing) return this.listing;
    this.listing = (async () => {
      try {
        const { items, resourceVersion } = await this.source.list();
        this.stats.lists++;
        if (this.stopped) return;
        const seen = new Set<string>();
        for (const item of items) {
          const name = item.metadata?.name;
          if (!name) continue;
          seen.add(name);
          const existing = this.cache.get(name);
          this.cache.set(name, item);
          if (!existing) this.emit('added', item);
          else if (existing.metadata?.resourceVersion !== item.metadata?.resourceVersion) this.emit('modified', item);
        }
        for (const [name, existing] of [...this.cache]) {
          if (seen.has(name)) continue;
          this.cache.delete(name);
          this.emit('deleted', existing);
        }
        this.resourceVersion = resourceVersion;
        this.backoffMs = this.options.minBackoffMs ?? 200;
        this.syncedResolve();
        this.emit('relisted', null);
        this.restartWatch();
      } catch (error) {
        this.stats.errors++;
        this.options.onError?.(this.source.resource, error);
        this.retryLater(() => void this.relist());
      } finally {
        this.listing = null;
      }
    })();
    return this.listing;
  }

  private restartWatch(): void {
    this.abort?.abort();
    this.abort = null;
    if (this.stopped) return;
    let gone = false;
    let ended = false;
    const generation = {};
    this.currentWatch = generation;
    const done = (error: unknown) => {
      if (ended || this.currentWatch !== generation) return;
      ended = true;
      if (this.stopped) return;
      const code = (error as { statusCode?: number; code?: number } | null)?.statusCode ?? (error as { code?: number } | null)?.code;
      if (gone || code === 410) {
        this.stats.gone++;
        void this.relist();
      } else if (error) {
        this.stats.errors++;
        this.options.onError?.(this.source.resource, error);
        this.retryLater(() => this.restartWatch());
      } else {
        // The server ended the watch (its timeout): go on from where we were.
        this.restartWatch();
      }
    };
    this.stats.watches++;
    void this.watcher
      .watch(
        this.source.path,
        { resourceVersion: this.resourceVersion, labelSelector: this.source.labelSelector, allowWatchBookmarks: true, timeoutSeconds: 300 },
        (type: string, object: T & { code?: number }) => {
          if (this.currentWatch !== generation) return;
          const name = object?.metadata?.name;
          switch (type) {
            case 'ADDED':
            case 'MODIFIED': {
              if (!name) return;
              const existing = this.cache.get(name);
              this.cache.set(name, object);
              this.emit(existing ? 'modified' : 'added', object);
              break;
            }
            case 'DELETED':
              if (!name) return;
              this.cache.delete(name);
              this.emit('deleted', object);
              break;
            case 'ERROR':
              // `{"type":"ERROR","object":{"kind":"Status","code":410,...}}`: our version is gone.
              if (object?.code === 410) gone = true;
              return;
            case 'BOOKMARK':
              break;
          }
          if (object?.metadata?.resourceVersion) this.resourceVersion = object.metadata.resourceVersion;
        },
        done,
      )
      .then((controller) => {
        if (this.currentWatch === generation && !ended) this.abort = controller;
        else controller.abort();
      }, done);
  }

  private currentWatch: object | null = null;

  private retryLater(fn: () => void): void {
    if (this.stopped) return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.options.maxBackoffMs ?? 10_000);
    this.retryTimer = setTimeout(fn, delay);
    this.retryTimer.unref();
  }
}
