/**
 * One reconcile at a time per key (a session, an app), wherever the wakes come from: events,
 * runtime changes, timers. A wake for a key being reconciled runs it exactly once more afterwards,
 * so a change seen mid-run is never lost and a burst of wakes costs at most two runs.
 */
export class ReconcileQueue {
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();

  constructor(
    private readonly reconcile: (key: string) => Promise<void>,
    private readonly onError: (key: string, error: unknown) => void,
  ) {}

  wake(key: string): void {
    if (this.inFlight.has(key)) {
      this.again.add(key);
      return;
    }
    const run = this.reconcile(key)
      .catch((error: unknown) => this.onError(key, error))
      .finally(() => {
        this.inFlight.delete(key);
        if (this.again.delete(key)) this.wake(key);
      });
    this.inFlight.set(key, run);
  }

  /** Waits for the runs under way (and the ones they scheduled), e.g. at shutdown. */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight.values()]);
  }
}
