/**
 * Picks the replica with the fewest requests outstanding from this activator, among those with
 * room (fewer than `capacity` outstanding: Knative's per-replica breaker); ties go round the
 * replicas in turn, so that an idle app's replicas share the first requests evenly.
 */
export class LeastOutstanding {
  private readonly outstanding = new Map<string, number>();
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
      if (count < bestCount && count < capacity) {
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
  }

  count(endpoint: string): number {
    return this.outstanding.get(endpoint) ?? 0;
  }

  /** Every endpoint with requests outstanding, and how many. */
  all(): Record<string, number> {
    return Object.fromEntries(this.outstanding);
  }
}
