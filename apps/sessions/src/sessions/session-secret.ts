import { randomBytes } from 'node:crypto';
import type { SessionEntity } from './session.entity.js';

/** A session's own secret: 256 random bits, made when it is launched, kept for its life (sessions.secret). */
export function newSessionSecret(): string {
  return randomBytes(32).toString('hex');
}

type Row = Pick<SessionEntity, 'secret' | 'spec'>;

/**
 * The secret the session's program takes as its own credential, or null when its environment
 * has no way to take one (`auth: none`). The one place to ask: the program gets it in its
 * environment (programSecretEnv), the gateway with the session's route, and anything in this
 * service that talks to the program itself (e.g. Jupyter's /api/status for idleness) sends
 * `Authorization: <programAuthorization(row)>`.
 */
export function programSecretOf(row: Row): string | null {
  return row.spec.auth?.kind === 'jupyter-token' ? row.secret : null;
}

/** The header value the program accepts its secret in (Jupyter: `token <secret>`); null without one. */
export function programAuthorization(row: Row): string | null {
  const secret = programSecretOf(row);
  return secret ? `token ${secret}` : null;
}

/** What the program is given in its environment: Jupyter reads its token from JUPYTER_TOKEN. */
export function programSecretEnv(row: Row): Record<string, string> {
  const secret = programSecretOf(row);
  return secret ? { JUPYTER_TOKEN: secret } : {};
}
