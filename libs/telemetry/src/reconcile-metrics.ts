import { counter, gauge, histogram } from './metrics.js';

const reconciles = counter('launchpad_reconcile_total', 'Reconciles by controller and outcome (success, requeue, requeue_after, error, terminal_error)', ['controller', 'outcome']);
const durations = histogram('launchpad_reconcile_duration_seconds', 'How long one reconcile of one key took', ['controller'], [0.001, 0.005, 0.02, 0.1, 0.5, 2, 10]);
const depths = gauge('launchpad_reconcile_queue_depth', 'Keys waiting to be reconciled', ['controller']);

/** The metrics of one ReconcileController (@launchpad/runtime), in this process's registry. */
export function reconcileMetrics(controller: string): { reconciled(outcome: string, seconds: number): void; depth(keys: number): void } {
  return {
    reconciled: (outcome, seconds) => {
      reconciles.inc({ controller, outcome });
      durations.observe({ controller }, seconds);
    },
    depth: (keys) => depths.set({ controller }, keys),
  };
}
