// The development signing key: made once per checkout, shared by `npm start` (the gateway) and
// `npm run token`. Production verifies tokens against the OIDC provider's JWKS instead.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const STATE_DIR = join(ROOT, '.launchpad');
const KEY_FILE = join(STATE_DIR, 'dev-signing-key');
const APPS_CALLER_SECRET_FILE = join(STATE_DIR, 'apps-caller-secret');

/** A random secret kept in `file` (made on first use), unless `variable` is set. */
function secretOf(variable, file) {
  if (process.env[variable]) return process.env[variable];
  if (!existsSync(file)) {
    mkdirSync(STATE_DIR, { recursive: true });
    writeFileSync(file, randomBytes(32).toString('base64url'), { mode: 0o600 });
  }
  return readFileSync(file, 'utf8').trim();
}

export function devSigningKey() {
  return secretOf('AUTH_DEV_SIGNING_KEY', KEY_FILE);
}

/** What the gateway signs share-link callers with and the apps activator checks (APPS_CALLER_SECRET). */
export function appsCallerSecret() {
  return secretOf('APPS_CALLER_SECRET', APPS_CALLER_SECRET_FILE);
}

/**
 * What a service seals secrets with at rest (SECRETS_ENCRYPTION_KEYS, `<id>:<base64 of 32 bytes>`),
 * one per service and checkout, kept in .launchpad/<service>-secrets-key.
 */
export function secretsEncryptionKeys(service) {
  const file = join(STATE_DIR, `${service}-secrets-key`);
  if (process.env.SECRETS_ENCRYPTION_KEYS) return process.env.SECRETS_ENCRYPTION_KEYS;
  if (!existsSync(file)) {
    mkdirSync(STATE_DIR, { recursive: true });
    writeFileSync(file, `dev1:${randomBytes(32).toString('base64')}`, { mode: 0o600 });
  }
  return readFileSync(file, 'utf8').trim();
}

/**
 * A token shaped like Keycloak's: the user in `sub`, admin as a realm role.
 * @param {{ user: string, admin?: boolean, ttlSeconds?: number, key?: string, issuer?: string, adminRole?: string }} options
 */
export async function devToken({ user, admin = false, ttlSeconds = 12 * 3600, key = devSigningKey(), issuer, adminRole = 'launchpad-admin' }) {
  let jwt = new SignJWT({ preferred_username: user, realm_access: { roles: admin ? [adminRole] : [] } })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(user)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds);
  if (issuer) jwt = jwt.setIssuer(issuer);
  return jwt.sign(new TextEncoder().encode(key));
}
