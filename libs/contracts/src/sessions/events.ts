import { z } from 'zod';
import { defineEvent } from '../envelope.js';
import { sessionProgressSchema, sessionSchema } from './session.js';

/** One event per status a session enters; each carries the whole session. */
export const sessionStartingV1 = defineEvent('sessions.session.starting', 1, sessionSchema);
export const sessionRunningV1 = defineEvent('sessions.session.running', 1, sessionSchema);
export const sessionHibernatedV1 = defineEvent('sessions.session.hibernated', 1, sessionSchema);
export const sessionFailedV1 = defineEvent('sessions.session.failed', 1, sessionSchema);
export const sessionStoppingV1 = defineEvent('sessions.session.stopping', 1, sessionSchema);
export const sessionDeletedV1 = defineEvent('sessions.session.deleted', 1, z.object({ id: z.string(), userId: z.string(), launcherId: z.string() }));
/** Every launch step, for people following a launch (the gateway streams these as SSE). */
export const sessionProgressedV1 = defineEvent('sessions.session.progressed', 1, sessionProgressSchema);

export const SESSION_STATUS_EVENTS = {
  starting: sessionStartingV1,
  running: sessionRunningV1,
  hibernated: sessionHibernatedV1,
  failed: sessionFailedV1,
  stopping: sessionStoppingV1,
} as const;
