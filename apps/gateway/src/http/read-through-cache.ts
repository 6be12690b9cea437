/**
 * Answers kept for a while, each key loaded by one call however many ask for it at once.
 *
 * What makes it safe to put in front of a read that changes: `invalidate()` (called when the data
 * changed) drops every answer, and no load that began before it is kept or shared after it, so a
 * caller who asks after an invalidation is answered from a read that began after it too. An
 * answer is kept `ttlMs` from when its load began at most (the bound on staleness when no
 * invalidation comes), and at most `limit` answers are kept, the oldest dropped first. Failures
 * are not kept: the next caller loads again.
 */
export class ReadThroughCache<V> {
  private generation = 0;
  private keeping = true;
  private readonly entries = new Map<string, { value: V; until: number }>();
  private readonly loading = new Map<string, Promise<V>>();

  constructor(
    private readonly ttlMs: number,
    private readonly limit: number,
    private readonly clock: () => number = Date.now,
  ) {}

  /** The answer kept for `key`, or the one `load` gives (shared with whoever asks meanwhile). */
  get(key: string, load: () => Promise<V>): Promise<V> {
    const kept = this.peek(key);
    if (kept !== undefined) return Promise.resolve(kept);
    const pending = this.loading.get(key);
    if (pending) return pending;
    const generation = this.generation;
    const until = this.clock() + this.ttlMs;
    const loaded = load().then(
      (value) => {
        if (this.loading.get(key) === loaded) this.loading.delete(key);
        if (generation === this.generation && this.keeping) this.keep(key, value, until);
        return value;
      },
      (error: unknown) => {
        if (this.loading.get(key) === loaded) this.loading.delete(key);
        throw error;
      },
    );
    this.loading.set(key, loaded);
    return loaded;
  }

  /** The answer kept for `key`, if there is one still valid (nothing is loaded). */
  peek(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.until > this.clock()) return entry.value;
    this.entries.delete(key);
    return undefined;
  }

  /** The data changed: nothing loaded before now is answered from here again. */
  invalidate(): void {
    this.generation++;
    this.entries.clear();
    this.loading.clear();
  }

  /** Keeps nothing from now on until resume() (loads are still shared): while nothing would say that the data changed. */
  pause(): void {
    this.keeping = false;
    this.invalidate();
  }

  /** Keeps answers again, none loaded before now. */
  resume(): void {
    this.keeping = true;
    this.invalidate();
  }

  get size(): number {
    return this.entries.size;
  }

  private keep(key: string, value: V, until: number): void {
    if (until <= this.clock()) return;
    this.entries.delete(key);
    if (this.entries.size >= this.limit) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { value, until });
  }
}
