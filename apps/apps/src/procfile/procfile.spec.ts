import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseProcfile, procfileArgv, webCommand } from './procfile.js';

describe('Procfile', () => {
  it('reads process types, skipping comments and blank lines, CRLF or not', () => {
    const text = '# processes\r\nweb: gunicorn app:app --bind 0.0.0.0:$PORT\r\n\r\nworker:  python worker.py  \n';
    expect([...parseProcfile(text)]).toEqual([
      ['web', 'gunicorn app:app --bind 0.0.0.0:$PORT'],
      ['worker', 'python worker.py'],
    ]);
  });

  it('takes the first web line and ignores lines that declare nothing', () => {
    expect(webCommand('web: node app.js\nweb: node other.js\n')).toBe('node app.js');
    expect(webCommand('web:\nnot a declaration\nweb node x.js\n')).toBeNull();
    expect(webCommand('worker: node worker.js\n')).toBeNull();
    expect(webCommand('')).toBeNull();
  });

  it('keeps colons and spaces of the command itself', () => {
    expect(webCommand('web:   bundle exec puma -b tcp://0.0.0.0:$PORT')).toBe('bundle exec puma -b tcp://0.0.0.0:$PORT');
  });

  it('runs the line with sh from the repository directory, with the shell seeing $PORT and $(...) as written', () => {
    const work = mkdtempSync(join(tmpdir(), 'lp-procfile-'));
    try {
      mkdirSync(join(work, "it's here"));
      const { command, args } = procfileArgv("it's here", 'echo "$PORT $(basename "$PWD")" $(PORT)x');
      const env = { PORT: '4321', PATH: process.env.PATH ?? '' };
      // What the runtime's $(VAR) expansion does to a string with no variable reference: $$ becomes $.
      const argv = [...command, ...args].map((part) => part.replace(/\$\$/g, '$'));
      expect(args[1]).not.toMatch(/(^|[^$])\$\(PORT\)/);
      const out = execFileSync(argv[0]!, argv.slice(1), { cwd: work, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      expect(out.trim()).toBe("4321 it's here x");
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
