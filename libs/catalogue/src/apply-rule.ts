/**
 * The one rule by which the read model takes a copy of a row (a launcher, a project, a member), so
 * that events may arrive in any order, more than once, and at two replicas at the same time:
 *
 * - a copy carries its row's version from environments (contracts' rowVersionSchema), and so does
 *   a removal, which the read model keeps as a tombstone with that version;
 * - a copy replaces what is held only if its version is higher; an equal one is the same change
 *   seen again, and changes nothing;
 * - a copy from before versions (version 0) replaces only a copy as old (held at version 0, what
 *   the migration gave every row kept before versions), by the source's `updatedAt` where the row
 *   has one, as then; once a versioned copy is held, a late unversioned one is ignored;
 * - a deleted launcher is final (its id is never used again), whatever comes after.
 *
 * Each write is one `INSERT … ON CONFLICT … DO UPDATE … WHERE` statement whose condition is
 * `supersedesSql`, so that two replicas racing on one key serialise on its row and the later of
 * them compares against what the earlier one wrote. `supersedes` is the same rule in TypeScript,
 * held to the SQL by the tests.
 */
export interface HeldCopy {
  version: number;
  /** The source's updatedAt of the held copy (launchers and projects; a project's tombstone has the deletion's time). */
  updatedAt?: string | null;
  /** A deleted launcher's tombstone: nothing replaces it. */
  final?: boolean;
}

export interface IncomingCopy {
  version: number;
  updatedAt?: string | null;
}

export function supersedes(held: HeldCopy | null, incoming: IncomingCopy): boolean {
  if (!held) return true;
  if (held.final) return false;
  if (incoming.version > 0) return held.version < incoming.version;
  if (held.version > 0) return false;
  if (held.updatedAt && incoming.updatedAt) return Date.parse(held.updatedAt) <= Date.parse(incoming.updatedAt);
  return true;
}

/** `supersedes` as the WHERE of `ON CONFLICT … DO UPDATE`, with the table aliased `held`. */
export function supersedesSql(options: { timestamps: boolean }): string {
  const legacy = `EXCLUDED.version = 0 AND held.version = 0${options.timestamps ? ' AND held.updated_at <= EXCLUDED.updated_at' : ''}`;
  return `(held.version < EXCLUDED.version OR (${legacy}))`;
}
