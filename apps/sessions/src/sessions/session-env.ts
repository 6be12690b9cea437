import { CommonErrorCode, type Launcher, SessionsError } from '@launchpad/contracts';
import { SecretBox, SecretBoxError, SecretBoxErrorCode } from '@launchpad/persistence';
import type { StorageMount } from '@launchpad/runtime';

export const SESSION_SECRETS = Symbol('SESSION_SECRETS');

export interface EnvOverride {
  name: string;
  value: string;
}

/** What a session's secret variables are, sealed in its row (`secret_env`). */
export interface SecretEnv {
  /** Every variable to set whose value is secret (the launcher's, and overrides of them). */
  env: Record<string, string>;
  /** The overrides of secret variables given at launch, so a resume applies them again. */
  overrides: Record<string, string>;
  /** The project's secret slots the user filled: files in the session's secrets directory. */
  files?: { name: string; content: string }[];
  /** The data connectors it mounts, with the user's credentials. */
  mounts?: StorageMount[];
}

export interface ComposedEnv {
  /** Kept in the row as it is (`spec.env`). */
  plain: Record<string, string>;
  /** Plain overrides, kept for a resume (`spec.envVariableOverrides`). */
  plainOverrides: EnvOverride[];
  /** Sealed in the row; null when nothing is secret. */
  secret: SecretEnv | null;
}

/**
 * A session's variables, later ones winning: the environment's, the launcher's `envVariables`,
 * then the launch's `envVariableOverrides` (Renku's order). An override of a secret variable
 * stays secret.
 */
export function composeSessionEnv(
  environmentEnv: Record<string, string>,
  launcher: Pick<Launcher, 'envVariables'>,
  secretValues: Record<string, string>,
  overrides: EnvOverride[],
): ComposedEnv {
  const secretNames = new Set(launcher.envVariables.filter((v) => v.secret).map((v) => v.name));
  const plain: Record<string, string> = { ...environmentEnv };
  const secretEnv: Record<string, string> = {};
  for (const v of launcher.envVariables) {
    if (v.secret) {
      const value = secretValues[v.name];
      if (value !== undefined) secretEnv[v.name] = value;
      delete plain[v.name];
    } else {
      plain[v.name] = v.value ?? '';
    }
  }
  const plainOverrides: EnvOverride[] = [];
  const secretOverrides: Record<string, string> = {};
  for (const o of overrides) {
    if (secretNames.has(o.name)) {
      secretEnv[o.name] = o.value;
      secretOverrides[o.name] = o.value;
    } else {
      plain[o.name] = o.value;
      plainOverrides.push(o);
    }
  }
  const hasSecret = Object.keys(secretEnv).length > 0 || Object.keys(secretOverrides).length > 0;
  return { plain, plainOverrides, secret: hasSecret ? { env: secretEnv, overrides: secretOverrides } : null };
}

const context = (sessionId: string) => `session:${sessionId}:secret-env`;

export function sealSecretEnv(box: SecretBox, sessionId: string, secret: SecretEnv | null): string | null {
  if (!secret) return null;
  try {
    return box.seal(JSON.stringify(secret), context(sessionId));
  } catch (error) {
    if (error instanceof SecretBoxError && error.code === SecretBoxErrorCode.NOT_CONFIGURED) {
      throw new SessionsError(
        CommonErrorCode.SECRETS_NOT_CONFIGURED,
        'this session has secret variables, and the sessions service has no SECRETS_ENCRYPTION_KEYS to keep them with: ask an administrator',
      );
    }
    throw error;
  }
}

export function openSecretEnv(box: SecretBox, sessionId: string, sealed: string | null): SecretEnv | null {
  if (!sealed) return null;
  return JSON.parse(box.open(sealed, context(sessionId))) as SecretEnv;
}
