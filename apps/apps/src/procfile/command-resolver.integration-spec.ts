import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { makeRepository } from '../../../../tools/testing/programs/make-repository.js';
import type { AppRunSpec } from '../apps/app.entity.js';
import type { AppsConfig } from '../config.js';
import { CommandResolver } from './command-resolver.js';
import { ProcfileReader } from './procfile-reader.js';

// Local repositories are a development setting, on here explicitly; run as root (CI), git reads them as nobody.
const config = { replicas: { procfileTimeoutMs: 30_000 }, runtime: { repositoryPolicy: { hosts: null, allowFile: true } } } as AppsConfig;
const spec = (over: Partial<AppRunSpec>): AppRunSpec => ({ image: 'i', command: [], args: [], env: {}, port: 8000, defaultUrl: '/', workingDirectory: '/work', repositories: [], ...over });

describe('CommandResolver with real git repositories', () => {
  const docs = makeRepository('docs', { 'README.md': '# docs\n', Procfile: 'worker: python work.py\n' });
  const site = makeRepository('site', { Procfile: 'web: python -m http.server $PORT\n' });
  const resolver = new CommandResolver(new ProcfileReader(config));
  afterAll(() => {
    for (const repo of [docs, site]) rmSync(join(repo.dir, '..'), { recursive: true, force: true });
  });

  it('takes the launcher’s own command first, served under its base URL', async () => {
    const resolution = await resolver.resolve({ name: 'App', spec: spec({ command: ['streamlit'], args: ['run', 'app.py'], repositories: [{ name: 'site', url: site.url }] }) });
    expect(resolution).toEqual({ kind: 'resolved', command: { source: 'launcher', repository: null, line: 'streamlit run app.py', command: ['streamlit'], args: ['run', 'app.py'], stripPrefix: false } });
  });

  it('else reads the web line of the first repository whose Procfile has one', async () => {
    const resolution = await resolver.resolve({ name: 'App', spec: spec({ repositories: [{ name: 'docs', url: docs.url }, { name: 'site', url: site.url }] }) });
    expect(resolution).toMatchObject({ kind: 'resolved', command: { source: 'procfile', repository: 'site', line: 'python -m http.server $PORT', command: ['sh'], stripPrefix: true } });
  });

  it('says there is nothing to run, naming where it looked', async () => {
    expect(await resolver.resolve({ name: 'App', spec: spec({ repositories: [{ name: 'docs', url: docs.url }] }) })).toEqual({
      kind: 'failed',
      message: expect.stringMatching(/^nothing to run: launcher "App" has no command, and no repository of its project has a Procfile with a "web:" line \(looked in "docs"\)/),
    });
    expect(await resolver.resolve({ name: 'App', spec: spec({}) })).toMatchObject({ kind: 'failed', message: expect.stringMatching(/its project has no repository to look for a Procfile in/) });
  });

  it('on the kubernetes runtime, runs the image’s own entrypoint when there is no command and no Procfile', async () => {
    const onCluster = new CommandResolver(new ProcfileReader(config), { runtime: { ...config.runtime, kind: 'kubernetes' } } as AppsConfig);
    expect(await onCluster.resolve({ name: 'App', spec: spec({ image: 'ghcr.io/lab/board:1', args: ['--port', '8000'], repositories: [{ name: 'docs', url: docs.url }] }) })).toEqual({
      kind: 'resolved',
      command: { source: 'image', repository: null, line: '(the entrypoint of ghcr.io/lab/board:1) --port 8000', command: [], args: ['--port', '8000'], stripPrefix: false },
    });
    // A Procfile still comes first.
    expect(await onCluster.resolve({ name: 'App', spec: spec({ repositories: [{ name: 'site', url: site.url }] }) })).toMatchObject({ kind: 'resolved', command: { source: 'procfile' } });
  });

  it('says which repository could not be read', async () => {
    const resolution = await resolver.resolve({ name: 'App', spec: spec({ repositories: [{ name: 'gone', url: 'file:///nonexistent/repo.git' }] }) });
    expect(resolution).toMatchObject({ kind: 'failed', message: expect.stringMatching(/^looking for a Procfile: could not clone repository "gone" \(file:\/\/\/nonexistent\/repo\.git\): /) });
  });

  it('will not clone a remote the installation does not allow, before running git at all', async () => {
    const strict = new CommandResolver(new ProcfileReader({ ...config, runtime: { ...config.runtime, repositoryPolicy: { hosts: ['gitlab.example.com'], allowFile: false } } } as AppsConfig));
    expect(await strict.resolve({ name: 'App', spec: spec({ repositories: [{ name: 'site', url: site.url }] }) })).toMatchObject({
      kind: 'failed',
      message: expect.stringMatching(/will not clone repository "site" .*file:\/\/ repositories are for development only/),
    });
    expect(await strict.resolve({ name: 'App', spec: spec({ repositories: [{ name: 'x', url: 'ext::sh -c touch% /tmp/pwned' }] }) })).toMatchObject({
      kind: 'failed',
      message: expect.stringMatching(/must be an https or ssh git remote/),
    });
  });
});
