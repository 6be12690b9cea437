import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killLeftoverClone, mayHoldClones, repositoryNameProblem } from './clone-repositories.js';
import { isProcessGroupRunning, processStartTimeSync } from './process-identity.js';

describe('repositoryNameProblem', () => {
  it.each(['analysis', 'my-repo', 'repo.v2', '.dotfiles'])('accepts %s', (name) => {
    expect(repositoryNameProblem(name)).toBeNull();
  });

  it.each(['', '.', '..', 'a/b', '../up', 'a\\b', 'x.cloning'])('refuses %j', (name) => {
    expect(repositoryNameProblem(name)).not.toBeNull();
  });
});

describe('killLeftoverClone', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lp-leftover-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** Stands in for a git clone a killed runtime left: detached, its temporary directory on its command line. */
  const leftover = (target: string) => {
    const child = spawn('/bin/sh', ['-c', 'sleep 60; :', 'git', 'clone', '--quiet', '--', 'ssh://host/repo', target], { detached: true, stdio: 'ignore' });
    child.unref();
    return { pid: child.pid!, startTime: processStartTimeSync(child.pid!) };
  };

  it('ends the clone its pid file names', async () => {
    const clone = leftover(join(dir, 'work', '.other.cloning'));
    writeFileSync(join(dir, 'clone.pid'), `${clone.pid} ${clone.startTime}`);
    expect(await killLeftoverClone(join(dir, 'clone.pid'))).toEqual({ ended: 1, unrecorded: 0 });
    expect(await isProcessGroupRunning(clone)).toBe(false);
  });

  it('ends a clone into the work directory that no pid file names (its runtime was killed before writing it)', async () => {
    const work = join(dir, 'work');
    const unrecorded = leftover(join(work, '.data.cloning'));
    const elsewhere = leftover(join(dir, 'another', '.data.cloning'));
    try {
      // Its git had not yet made the directory: the spec's repositories say a clone can be there.
      expect(await killLeftoverClone(join(dir, 'clone.pid'), work, [{ name: 'data' }])).toEqual({ ended: 1, unrecorded: 1 });
      expect(await isProcessGroupRunning(unrecorded)).toBe(false);
      expect(await isProcessGroupRunning(elsewhere)).toBe(true);
    } finally {
      process.kill(-elsewhere.pid, 'SIGKILL');
    }
  });
});

describe('mayHoldClones', () => {
  it('is true while a clone directory is there or repositories are to be cloned, and false for a work directory with neither', () => {
    const work = mkdtempSync(join(tmpdir(), 'lp-may-clone-'));
    try {
      mkdirSync(join(work, 'analysis'));
      expect(mayHoldClones(work)).toBe(false);
      expect(mayHoldClones(work, [{ name: 'analysis' }])).toBe(true);
      mkdirSync(join(work, '.big-data.cloning'));
      expect(mayHoldClones(work)).toBe(true);
      expect(mayHoldClones(join(work, 'missing'))).toBe(false);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
