import { Inject, Injectable, Optional } from '@nestjs/common';
import type { AppEntity, AppRunSpec, ResolvedCommand } from '../apps/app.entity.js';
import { APPS_CONFIG, type AppsConfig } from '../config.js';
import { procfileArgv, webCommand } from './procfile.js';
import { ProcfileReader, RepositoryReadError } from './procfile-reader.js';

export type Resolution = { kind: 'resolved'; command: ResolvedCommand } | { kind: 'failed'; message: string };

/** A launcher's own command, run as its environment says (served under its base URL, like a session). */
export function launcherCommand(spec: AppRunSpec): ResolvedCommand | null {
  if (spec.command.length === 0) return null;
  return { source: 'launcher', repository: null, line: [...spec.command, ...spec.args].join(' '), command: spec.command, args: spec.args, stripPrefix: false };
}

/** No command and no Procfile, on a runtime that runs images: the image's own entrypoint, with the launcher's args. */
export function imageEntrypoint(spec: AppRunSpec): ResolvedCommand {
  return { source: 'image', repository: null, line: [`(the entrypoint of ${spec.image})`, ...spec.args].join(' '), command: [], args: spec.args, stripPrefix: false };
}

/**
 * What an app runs: its launcher's command when it has one, else the `web:` line of the Procfile
 * in the first of the project's repositories that has one, run with `sh -c` from that repository;
 * else, on the kubernetes runtime, the image's own entrypoint (an empty command means that there,
 * as it does for a container). The process runtime has no image to ask, so there it is an error.
 */
@Injectable()
export class CommandResolver {
  private readonly runsImages: boolean;

  constructor(
    private readonly procfiles: ProcfileReader,
    @Optional() @Inject(APPS_CONFIG) config?: Pick<AppsConfig, 'runtime'>,
  ) {
    this.runsImages = config?.runtime.kind === 'kubernetes';
  }

  async resolve(app: Pick<AppEntity, 'name' | 'spec'>): Promise<Resolution> {
    const own = launcherCommand(app.spec);
    if (own) return { kind: 'resolved', command: own };
    const repositories = app.spec.repositories;
    for (const repository of repositories) {
      let text: string | null;
      try {
        text = await this.procfiles.read(repository);
      } catch (error) {
        if (error instanceof RepositoryReadError) return { kind: 'failed', message: `looking for a Procfile: ${error.message}` };
        throw error;
      }
      const line = text === null ? null : webCommand(text);
      if (line) return { kind: 'resolved', command: { source: 'procfile', repository: repository.name, line, ...procfileArgv(repository.name, line), stripPrefix: true } };
    }
    if (this.runsImages) return { kind: 'resolved', command: imageEntrypoint(app.spec) };
    const where =
      repositories.length === 0
        ? 'and its project has no repository to look for a Procfile in'
        : `and no repository of its project has a Procfile with a "web:" line (looked in ${repositories.map((r) => `"${r.name}"`).join(', ')})`;
    return { kind: 'failed', message: `nothing to run: launcher "${app.name}" has no command, ${where}. Give the launcher a command, or add a Procfile with a line such as "web: python app.py" to the repository.` };
  }
}
