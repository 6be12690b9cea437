/**
 * Asks the scaler for replicas of an app at zero while requests wait for it: ceil(waiting /
 * capacity) at once, rather than one and then whatever the panic window notices (Knative's
 * activator does the same through its stats). One signal per step, however many requests wait:
 * 200 waiting at 10 per replica ask for 1, 2, ... 20 as they arrive, never twice for the same count.
 */
export class WakeSignal {
  /** Per app, the replicas last asked for in this cold start. */
  private readonly asked = new Map<string, number>();

  constructor(private readonly send: (appId: string, waiting: number, replicas: number) => void) {}

  /** `waiting` requests wait for the app, which has no ready replica; each replica takes `capacity`. */
  waiting(appId: string, waiting: number, capacity: number): void {
    const replicas = Math.max(1, Math.ceil(waiting / Math.max(1, capacity)));
    if (replicas <= (this.asked.get(appId) ?? 0)) return;
    this.asked.set(appId, replicas);
    this.send(appId, waiting, replicas);
  }

  /** A replica is ready, or nobody waits any more: the next cold start asks afresh (a signal may have been lost). */
  settled(appId: string): void {
    this.asked.delete(appId);
  }
}
