import type { Environment, ProgramAuth } from '@launchpad/contracts';

/**
 * An `environments` row as pg answers a raw SELECT of ENVIRONMENT_COLUMNS: what the catalogue's
 * reads map straight to the contract, without TypeORM's query builder and entity hydration (a
 * quarter of the environments service's CPU per `GET /environments`). It must map to what
 * toEnvironment(entity) gives (environment-rows.integration-spec.ts holds the two together).
 */
export interface EnvironmentRow {
  id: string;
  kind: 'global' | 'custom' | 'code';
  project_id: string | null;
  name: string;
  description: string | null;
  keywords: string[];
  is_default: boolean;
  is_archived: boolean;
  image: string;
  port: number;
  default_url: string;
  working_directory: string;
  mount_directory: string;
  uid: number;
  gid: number;
  command: string[];
  args: string[];
  env: Record<string, string>;
  auth: ProgramAuth | null;
  created_by: string;
  created_at: Date;
  updated_at: Date;
  /** bigint: pg answers it as a string (see RowVersionColumn). */
  version: string | null;
}

export const ENVIRONMENT_COLUMNS = `e.id, e.kind, e.project_id, e.name, e.description, e.keywords, e.is_default, e.is_archived, e.image, e.port,
  e.default_url, e.working_directory, e.mount_directory, e.uid, e.gid, e.command, e.args, e.env, e.auth, e.created_by,
  e.created_at, e.updated_at, e.version`;

/** A global environment as the catalogue shows it, from its row (toEnvironment's twin). */
export function environmentFromRow(row: EnvironmentRow): Environment {
  if (row.kind === 'code') throw new Error(`environment ${row.id} belongs to a launcher made from code, not to the catalogue`);
  return {
    id: row.id,
    kind: row.kind,
    projectId: row.project_id,
    name: row.name,
    description: row.description,
    keywords: row.keywords,
    isDefault: row.is_default,
    isArchived: row.is_archived,
    image: row.image,
    port: row.port,
    defaultUrl: row.default_url,
    workingDirectory: row.working_directory,
    mountDirectory: row.mount_directory,
    uid: row.uid,
    gid: row.gid,
    command: row.command,
    args: row.args,
    env: row.env,
    auth: row.auth ?? { kind: 'none' },
    createdBy: row.created_by,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    version: row.version === null ? 0 : Number(row.version),
  };
}

/** The catalogue's search: which global environments, in the order they are offered. */
export function listEnvironmentsQuery(query: { q?: string | undefined; keyword?: string | undefined; includeArchived?: 'true' | 'false' | undefined }): {
  sql: string;
  params: unknown[];
} {
  const where = [`e.kind = 'global'`];
  const params: unknown[] = [];
  // Archived environments still run their launchers, but are not offered for new ones.
  if (query.includeArchived !== 'true') where.push('NOT e.is_archived');
  if (query.q) {
    params.push(`%${query.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    const q = `$${params.length}`;
    where.push(`(e.name ILIKE ${q} OR e.description ILIKE ${q} OR EXISTS (SELECT 1 FROM unnest(e.keywords) k WHERE k ILIKE ${q}))`);
  }
  if (query.keyword) {
    params.push(query.keyword.toLowerCase());
    where.push(`$${params.length} = ANY(e.keywords)`);
  }
  return { sql: `SELECT ${ENVIRONMENT_COLUMNS} FROM environments e WHERE ${where.join(' AND ')} ORDER BY e.is_default DESC, lower(e.name) ASC`, params };
}
