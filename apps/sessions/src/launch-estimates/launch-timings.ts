import { Injectable } from '@nestjs/common';
import type { SessionPhase } from '@launchpad/contracts';
import type { EntityManager } from 'typeorm';

/** How long each step of one start took, in ms, from its first step (queued or resuming) to ready. */
export interface LaunchTiming {
  kind: StartKind;
  steps: Partial<Record<SessionPhase, number>>;
  totalMs: number;
  /** When that start was ready. */
  readyAt: string;
}

/** What a starting session was told from its launcher's last start: that timing, and when it may be ready. */
export interface LaunchEstimate extends LaunchTiming {
  expectedReadyAt: string;
}

export function estimateFrom(timing: LaunchTiming | null, startAt: Date): LaunchEstimate | null {
  return timing ? { ...timing, expectedReadyAt: new Date(startAt.getTime() + timing.totalMs).toISOString() } : null;
}

/** A launch clones and prepares from nothing; a resume finds its files: each is estimated from its own kind. */
export type StartKind = 'launch' | 'resume';

const START_PHASES: SessionPhase[] = ['queued', 'resuming'];

/**
 * The steps of one start from its progress rows, oldest first: each step lasts until the next
 * one began; the start is the last `queued` or `resuming` step (a retry starts anew). Plain, so
 * it is tested alone; null when the rows hold no start that reached `ready`.
 */
export function timingOf(progress: { phase: SessionPhase; at: Date }[]): LaunchTiming | null {
  let start = -1;
  for (let i = progress.length - 1; i >= 0; i--) {
    if (START_PHASES.includes(progress[i]!.phase)) {
      start = i;
      break;
    }
  }
  if (start < 0) return null;
  const ready = progress.findIndex((p, i) => i > start && p.phase === 'ready');
  if (ready < 0) return null;
  const steps: Partial<Record<SessionPhase, number>> = {};
  for (let i = start; i < ready; i++) {
    const phase = progress[i]!.phase;
    steps[phase] = (steps[phase] ?? 0) + (progress[i + 1]!.at.getTime() - progress[i]!.at.getTime());
  }
  return {
    kind: progress[start]!.phase === 'resuming' ? 'resume' : 'launch',
    steps,
    totalMs: progress[ready]!.at.getTime() - progress[start]!.at.getTime(),
    readyAt: progress[ready]!.at.toISOString(),
  };
}

/** An estimate's words on the stream, for one step: null when that step was not timed. */
export function stepNote(estimate: LaunchTiming | null | undefined, phase: SessionPhase): string | null {
  const ms = estimate?.steps[phase];
  if (ms === undefined || phase === 'ready') return null;
  return `the last ${estimate!.kind} of this launcher spent ${seconds(ms)} on this step (${seconds(estimate!.totalMs)} in all)`;
}

const seconds = (ms: number) => (ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`);

/**
 * The last successful start of each launcher, by kind (sessions.launch_timings): recorded when a
 * session becomes ready, read when the next one launches or resumes, whoever's it is (durations
 * say nothing about a colleague's work).
 */
@Injectable()
export class LaunchTimings {
  async record(manager: EntityManager, sessionId: string, launcherId: string): Promise<void> {
    const progress: { phase: SessionPhase; at: Date }[] = await manager.query(`SELECT phase, at FROM session_progress WHERE session_id = $1 ORDER BY seq`, [sessionId]);
    const timing = timingOf(progress);
    if (!timing) return;
    await manager.query(
      `INSERT INTO launch_timings (launcher_id, kind, timing, recorded_at) VALUES ($1, $2, $3, now())
       ON CONFLICT (launcher_id, kind) DO UPDATE SET timing = excluded.timing, recorded_at = excluded.recorded_at`,
      [launcherId, timing.kind, JSON.stringify(timing)],
    );
  }

  async last(manager: EntityManager, launcherId: string, kind: StartKind): Promise<LaunchTiming | null> {
    const rows: { timing: LaunchTiming }[] = await manager.query(`SELECT timing FROM launch_timings WHERE launcher_id = $1 AND kind = $2`, [launcherId, kind]);
    return rows[0]?.timing ?? null;
  }
}
