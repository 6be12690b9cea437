import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A real git repository with one commit, for sessions to clone (as they would a GitLab project). */
export function makeRepository(name: string, files: Record<string, string>): { url: string; dir: string } {
  const parent = mkdtempSync(join(tmpdir(), 'lp-repo-'));
  // Readable by the workload users that clone it (mkdtemp makes it 0700).
  chmodSync(parent, 0o755);
  const dir = join(parent, name);
  execFileSync('git', ['init', '-q', '-b', 'main', dir]);
  for (const [file, content] of Object.entries(files)) writeFileSync(join(dir, file), content);
  const git = (...args: string[]) => execFileSync('git', ['-C', dir, '-c', 'user.name=Test', '-c', 'user.email=test@example.com', ...args]);
  git('add', '.');
  git('commit', '-q', '-m', 'initial');
  return { url: `file://${dir}`, dir };
}
