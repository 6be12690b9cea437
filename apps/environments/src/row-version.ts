import { Column } from 'typeorm';

/**
 * A row's version (migration AddRowVersions1764000000800, contracts' rowVersionSchema): a trigger
 * takes it from the `row_versions` sequence on every insert and update, so TypeORM never writes it
 * and an entity saved must be read again to learn its new version. pg answers bigint as a string.
 */
export function RowVersionColumn(): PropertyDecorator {
  return Column({
    type: 'bigint',
    insert: false,
    update: false,
    transformer: { to: (value: number | undefined) => value, from: (value: string | null) => (value === null ? 0 : Number(value)) },
  });
}

/** The version a removal takes for its event: after the row's lock (the DELETE took it), so newer than any change of it. */
export async function takeRowVersion(manager: { query(sql: string): Promise<unknown> }): Promise<number> {
  const [row] = (await manager.query(`SELECT nextval('row_versions') AS version`)) as { version: string }[];
  return Number(row!.version);
}
