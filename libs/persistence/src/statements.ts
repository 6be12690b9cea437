import type { EntityManager } from 'typeorm';

/** One SQL statement and its parameters ($1, $2, ...). */
export interface Statement {
  sql: string;
  params: unknown[];
}

/**
 * Runs independent data-modifying statements as one: each becomes an item of a single WITH, so
 * they cost one round trip and one plan instead of one each, and succeed or fail together.
 * Postgres runs every data-modifying WITH item once, referenced or not; all of them see the same
 * snapshot and none sees another's effects, so they must not depend on each other (and must not
 * change the same row: Postgres refuses that). Parameters are renumbered: the statements must not
 * hold `$<n>` other than as parameters (no dollar-quoted text).
 */
export async function runTogether(manager: EntityManager, statements: readonly Statement[]): Promise<void> {
  if (statements.length === 0) return;
  if (statements.length === 1) {
    await manager.query(statements[0].sql, statements[0].params);
    return;
  }
  const params: unknown[] = [];
  const items = statements.map((statement, i) => {
    const offset = params.length;
    params.push(...statement.params);
    return `w${i} AS (${statement.sql.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + offset}`)})`;
  });
  await manager.query(`WITH ${items.join(',\n')} SELECT 1`, params);
}
