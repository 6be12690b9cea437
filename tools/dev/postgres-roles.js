// A Postgres role per service, with rights on its own schema only (libs/persistence/src/service-roles.ts
// holds the SQL). `npm start` and the test harness call it before they start the services, each of
// which then connects as its own role:
//
//   node tools/dev/postgres-roles.js [DATABASE_URL]   # as npm start would; prints each service's URL, password hidden
//
// DATABASE_URL (default postgres://postgres@127.0.0.1:5432/launchpad) must name a role that may
// create roles. Each service's password is made once per checkout and kept in
// .launchpad/postgres-<service>-password (0600).
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DATABASE_SERVICES, ensureServiceRoles } from '@launchpad/persistence';
import { STATE_DIR } from './dev-key.js';

/** The role a service connects as: `launchpad_<service>`, or `<prefix><service>` (tests keep theirs apart). */
export const roleOf = (service, prefix = 'launchpad_') => `${prefix}${service}`;

function passwordOf(service) {
  const file = join(STATE_DIR, `postgres-${service}-password`);
  if (!existsSync(file)) {
    mkdirSync(STATE_DIR, { recursive: true });
    writeFileSync(file, randomBytes(24).toString('base64url'), { mode: 0o600 });
  }
  return readFileSync(file, 'utf8').trim();
}

/**
 * Makes (or updates) every service's role in the database `adminUrl` names and returns the URL each
 * service connects with.
 * @param {string} adminUrl
 * @param {{ prefix?: string, passwords?: boolean, log?: (line: string) => void }} [options] `passwords: false`: none (a server that trusts loopback, as the test harness's)
 * @returns {Promise<Record<string, string>>}
 */
export async function ensurePostgresRoles(adminUrl, { prefix = 'launchpad_', passwords = true, log = () => {} } = {}) {
  const roles = DATABASE_SERVICES.map((service) => ({ schema: service, role: roleOf(service, prefix), password: passwords ? passwordOf(service) : null }));
  await ensureServiceRoles(adminUrl, roles, log);
  return Object.fromEntries(
    roles.map(({ schema, role, password }) => {
      const url = new URL(adminUrl);
      url.username = role;
      url.password = password ?? '';
      return [schema, url.toString()];
    }),
  );
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const adminUrl = process.argv[2] ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/launchpad';
  const urls = await ensurePostgresRoles(adminUrl, { log: (line) => console.log(line) });
  for (const [service, url] of Object.entries(urls)) {
    const shown = new URL(url);
    if (shown.password) shown.password = '***';
    console.log(`${service.padEnd(12)} ${shown}`);
  }
}
