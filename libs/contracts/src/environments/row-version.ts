import { z } from 'zod';

/**
 * Which change of a row an event (or an RPC answer) describes. Environments takes it from one
 * Postgres sequence (`row_versions`) each time a project, member, launcher or environment row
 * changes or is removed, after locking that row, so later changes of one row always carry higher
 * versions, and a row removed and made again goes on counting up. A read model keeps the copy with
 * the highest version and ignores older ones, whatever order they arrive in (see the apply rule in
 * libs/catalogue and libs/messaging's README).
 *
 * Added within each event's version: events written before it have none and read as 0, "unknown".
 */
export const rowVersionSchema = z
  .number()
  .int()
  .nonnegative()
  .default(0)
  .describe('Grows with every change of this row (and its removal); a copy with a higher version is newer. 0: not known (from before versions).');

/** On events that were born with it (member-removed v2, project.deleted v2): always known. */
export const knownRowVersionSchema = z.number().int().positive().describe('The version the removal took: higher than any the row had.');
