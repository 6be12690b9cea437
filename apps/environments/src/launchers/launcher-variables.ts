import { CommonErrorCode, type EnvVariable, EnvironmentsError, type envVariablesInputSchema } from '@launchpad/contracts';
import { SecretBox, SecretBoxError, SecretBoxErrorCode } from '@launchpad/persistence';
import type { z } from 'zod';

export const LAUNCHER_SECRETS = Symbol('LAUNCHER_SECRETS');

/** A variable as the launchers table keeps it: the value of a secret one only sealed. */
export interface StoredEnvVariable {
  name: string;
  value: string | null;
  secret: boolean;
  sealed: string | null;
}

type Input = z.output<typeof envVariablesInputSchema>;

const context = (launcherId: string, name: string) => `launcher:${launcherId}:env:${name}`;

/**
 * The launcher's new variables from the input: secret values are sealed (bound to the launcher
 * and the variable's name), and a secret variable sent without a value keeps the one it had.
 */
export function storeEnvVariables(box: SecretBox, launcherId: string, input: Input, previous: StoredEnvVariable[]): StoredEnvVariable[] {
  return input.map((v, index) => {
    if (!v.secret) return { name: v.name, value: v.value ?? '', secret: false, sealed: null };
    if (v.value === undefined) {
      const kept = previous.find((p) => p.name === v.name && p.secret && p.sealed !== null);
      if (!kept) {
        throw new EnvironmentsError(
          CommonErrorCode.VALIDATION_FAILED,
          `envVariables[${index}] "${v.name}" is a new secret variable: give its value (later updates may leave it out to keep it)`,
          [{ path: `envVariables.${index}.value`, message: 'a new secret variable needs a value' }],
        );
      }
      return kept;
    }
    return { name: v.name, value: null, secret: true, sealed: sealOrRefuse(box, v.value, context(launcherId, v.name)) };
  });
}

export function showEnvVariables(stored: StoredEnvVariable[] | null | undefined): EnvVariable[] {
  return (stored ?? []).map((v) => ({ name: v.name, value: v.secret ? null : (v.value ?? ''), secret: v.secret }));
}

/** The plaintext of a launcher's secret variables, for the sessions service to start a session with. */
export function openSecretVariables(box: SecretBox, launcherId: string, stored: StoredEnvVariable[] | null | undefined): Record<string, string> {
  const values: Record<string, string> = {};
  for (const v of stored ?? []) if (v.secret && v.sealed !== null) values[v.name] = box.open(v.sealed, context(launcherId, v.name));
  return values;
}

/** The same variables with every sealed value wrapped by the active key (after a key rotation). */
export function rewrapEnvVariables(box: SecretBox, launcherId: string, stored: StoredEnvVariable[]): StoredEnvVariable[] | null {
  let changed = false;
  const next = stored.map((v) => {
    if (!v.sealed || !box.needsRewrap(v.sealed)) return v;
    changed = true;
    return { ...v, sealed: box.rewrap(v.sealed, context(launcherId, v.name)) };
  });
  return changed ? next : null;
}

function sealOrRefuse(box: SecretBox, value: string, ctx: string): string {
  try {
    return box.seal(value, ctx);
  } catch (error) {
    if (error instanceof SecretBoxError && error.code === SecretBoxErrorCode.NOT_CONFIGURED) {
      throw new EnvironmentsError(CommonErrorCode.SECRETS_NOT_CONFIGURED, `secret variables cannot be stored: the environments service has no SECRETS_ENCRYPTION_KEYS`);
    }
    throw error;
  }
}
