/**
 * How many requests a replica this activator has not yet had answers from takes at once; one more
 * with each answer, up to its capacity. Its first requests are also its first connections, and a
 * program with a small listen backlog (Python's http.server: 5) has the kernel drop the SYNs
 * beyond it, which the activator sends again only a second later: a burst from zero handed a
 * fresh replica its whole capacity at once had its p99 a second behind its p50.
 */
export const SLOW_START = 4;
/** Answers counted per replica: past this it is warm, whatever its capacity. */
const WARM = 10_000;

/**
 * Picks the replica with the fewest requests outstanding from this activator, among those with
 * room (fewer than `capacity` outstanding: Knative's per-replica breaker; a fresh replica has
 * less, see SLOW_START); ties go round the replicas in turn, so that an idle app's replicas share
 * the first requests evenly.
 */
export class LeastOutstanding {
  private readonly outstanding = new Map<string, number>();
  private readonly answered = new Map<string, number>();
  private turn = 0;

  /** A replica with room, counted as taken until `done`; null when there is none (every one is full, or none is ready). */
  pick(endpoints: readonly string[], capacity = Infinity): string | null {
    if (endpoints.length === 0) return null;
    let best: string | null = null;
    let bestCount = Infinity;
    const start = this.turn++ % endpoints.length;
    for (let i = 0; i < endpoints.length; i++) {
      const endpoint = endpoints[(start + i) % endpoints.length]!;
      const count = this.outstanding.get(endpoint) ?? 0;
      if (count < bestCount && count < this.roomOf(endpoint, capacity)) {
        best = endpoint;
        bestCount = count;
      }
    }
    if (best === null) return null;
    this.outstanding.set(best, bestCount + 1);
    return best;
  }

  done(endpoint: string): void {
    const count = (this.outstanding.get(endpoint) ?? 1) - 1;
    if (count <= 0) this.outstanding.delete(endpoint);
    else this.outstanding.set(endpoint, count);
    // Replicas come and go (a new port each time): the counts of gone ones are let go in bulk.
    if (this.answered.size > WARM) this.answered.clear();
    this.answered.set(endpoint, Math.min(WARM, (this.answered.get(endpoint) ?? 0) + 1));
  }

  /** A limited capacity, less for a replica still warming up; none for a replica without a limit (routes of older publishers). */
  private roomOf(endpoint: string, capacity: number): number {
    return Number.isFinite(capacity) ? Math.min(capacity, SLOW_START + (this.answered.get(endpoint) ?? 0)) : capacity;
  }

  count(endpoint: string): number {
    return this.outstanding.get(endpoint) ?? 0;
  }

  /** Every endpoint with requests outstanding, and how many. */
  all(): Record<string, number> {
    return Object.fromEntries(this.outstanding);
  }
}
