import { type dataConnectorsOverridesSchema, SessionsError, SessionsErrorCode } from '@launchpad/contracts';
import type { z } from 'zod';

type Overrides = z.output<typeof dataConnectorsOverridesSchema>;
type Override = Overrides[number];

/** What the plan needs of a connector row. */
export interface ConnectorRow {
  id: string;
  name: string;
  targetPath: string;
  sourcePath: string;
  readonly: boolean;
}

export interface PlannedMount<R extends ConnectorRow> {
  row: R;
  owner: 'project' | 'user';
  sourcePath: string;
  targetPath: string;
  readonly: boolean;
}

/**
 * Which connectors a session mounts, and where: the project's, then the user's own, less the
 * skipped ones, with the launch's overrides applied. An override must name one of them; two
 * mounts may not share a target path (a project's and the user's own most likely): the launch is
 * refused naming both, rather than one silently hiding the other.
 */
export function planMounts<R extends ConnectorRow>(projectRows: R[], userRows: R[], overrides: Overrides): PlannedMount<R>[] {
  const candidates = [...projectRows.map((row) => ({ row, owner: 'project' as const })), ...userRows.map((row) => ({ row, owner: 'user' as const }))];
  for (const o of overrides) {
    if (!candidates.some((c) => c.row.id === o.dataConnectorId)) {
      throw new SessionsError(
        SessionsErrorCode.DATA_CONNECTOR_NOT_FOUND,
        `dataConnectorsOverrides names ${o.dataConnectorId}, which is no data connector of this project nor one of your own`,
        [{ path: 'dataConnectorsOverrides', message: 'not a data connector of the project or of yours' }],
      );
    }
  }
  const planned: PlannedMount<R>[] = [];
  for (const { row, owner } of candidates) {
    const o: Override | undefined = overrides.find((x) => x.dataConnectorId === row.id);
    if (o?.skip) continue;
    const mount = { row, owner, sourcePath: o?.sourcePath ?? row.sourcePath, targetPath: o?.targetPath ?? row.targetPath, readonly: o?.readonly ?? row.readonly };
    const clash = planned.find((m) => m.targetPath === mount.targetPath);
    if (clash) {
      throw new SessionsError(
        SessionsErrorCode.DATA_CONNECTOR_TARGET_CLASH,
        `${describe(clash)} and ${describe(mount)} would both be mounted at /work/${mount.targetPath}: ` +
          `skip one or give it another targetPath with dataConnectorsOverrides ({"dataConnectorId": "${mount.row.id}", "targetPath": "..."}), or change your connector's targetPath`,
        [{ path: 'dataConnectorsOverrides', message: `two data connectors at /work/${mount.targetPath}` }],
      );
    }
    planned.push(mount);
  }
  return planned;
}

const describe = (m: PlannedMount<ConnectorRow>) => `${m.owner === 'project' ? "the project's" : 'your own'} data connector "${m.row.name}" (${m.row.id})`;
