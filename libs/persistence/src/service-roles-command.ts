// `node libs/persistence/dist/service-roles-command.js`: gives each service its Postgres role and
// schema (service-roles.ts) and exits, 0 when done. Every image holds it: docker compose runs it
// before the services start, the Kubernetes migrations Job before it migrates.
//
//   DATABASE_URL (or DATABASE_URL_FILE)   a role that may create roles, e.g. postgres
//   <SERVICE>_DATABASE_URL (or ..._FILE)  for each of ENVIRONMENTS, SESSIONS, APPS, BUILDS: the URL
//                                         that service connects with; its user and password are
//                                         the role made for it
import { readFileSync } from 'node:fs';
import { DATABASE_SERVICES, ensureServiceRoles, serviceRoleFromUrl } from './service-roles.js';

function variable(name: string): string | undefined {
  const file = process.env[`${name}_FILE`];
  if (file) return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  return process.env[name] || undefined;
}

const line = (level: string, msg: string) => process.stdout.write(`${JSON.stringify({ level, service: 'postgres-roles', msg })}\n`);

async function main(): Promise<void> {
  const admin = variable('DATABASE_URL');
  if (!admin) throw new Error('DATABASE_URL: required, a role that may create roles (e.g. postgres://postgres@host:5432/launchpad)');
  const roles = DATABASE_SERVICES.flatMap((service) => {
    const url = variable(`${service.toUpperCase()}_DATABASE_URL`);
    return url ? [serviceRoleFromUrl(service, url)] : [];
  });
  if (roles.length === 0) throw new Error(`no service given: set ${DATABASE_SERVICES.map((s) => `${s.toUpperCase()}_DATABASE_URL`).join(', ')}`);
  // Postgres may still be starting (compose, a fresh cluster): wait for it, as the services do.
  for (let attempt = 1; ; attempt++) {
    try {
      await ensureServiceRoles(admin, roles, (msg) => line('info', msg));
      break;
    } catch (error) {
      const code = (error as { code?: string }).code ?? '';
      if (attempt >= 60 || !['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', '57P03'].includes(code)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
  line('info', `roles ready: ${roles.map((r) => `${r.role} owns schema ${r.schema}`).join('; ')}`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${JSON.stringify({ level: 'fatal', service: 'postgres-roles', msg: `failed: ${(error as Error)?.message ?? String(error)}` })}\n`);
  process.exit(1);
});
