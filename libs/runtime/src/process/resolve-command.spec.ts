import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveCommand } from './resolve-command.js';

describe('resolveCommand', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lp-resolve-'));
    for (const sub of ['a', 'b', 'work']) mkdirSync(join(dir, sub));
    writeFileSync(join(dir, 'b', 'tool'), '#!/bin/sh\n');
    chmodSync(join(dir, 'b', 'tool'), 0o755);
    writeFileSync(join(dir, 'a', 'tool'), 'not executable');
    mkdirSync(join(dir, 'a', 'dironly'));
    writeFileSync(join(dir, 'work', 'run.sh'), '#!/bin/sh\n');
    chmodSync(join(dir, 'work', 'run.sh'), 0o755);
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('finds the first executable of that name on PATH, skipping files that are not executable', async () => {
    expect(await resolveCommand('tool', `${join(dir, 'a')}:${join(dir, 'b')}`, dir)).toBe(join(dir, 'b', 'tool'));
  });

  it('does not take a directory for a command', async () => {
    expect(await resolveCommand('dironly', join(dir, 'a'), dir)).toBeNull();
  });

  it('returns null for a command that is nowhere on PATH', async () => {
    expect(await resolveCommand('no-such-command-here', `${join(dir, 'a')}:${join(dir, 'b')}`, dir)).toBeNull();
  });

  it('takes a name with a slash as a path, relative to the working directory', async () => {
    expect(await resolveCommand('./run.sh', '', join(dir, 'work'))).toBe(join(dir, 'work', 'run.sh'));
    expect(await resolveCommand(join(dir, 'b', 'tool'), '', '/')).toBe(join(dir, 'b', 'tool'));
    expect(await resolveCommand('./missing.sh', join(dir, 'b'), join(dir, 'work'))).toBeNull();
  });

  it('returns null for an empty command', async () => {
    expect(await resolveCommand('', join(dir, 'b'), dir)).toBeNull();
  });
});
