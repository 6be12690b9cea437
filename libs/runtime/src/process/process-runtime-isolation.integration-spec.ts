import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { httpGet, ProcessFixture, waitFor } from '../../testing/process-fixtures.js';
import type { ProcessRuntime } from './process-runtime.js';
import { probeWorkloadNamespace } from './workload-namespace.js';
import { processIsolationFor } from './workload-sandbox.js';

const RANGE = { first: 181000, last: 181999 };
const isRoot = process.getuid?.() === 0;
const readFileSafe = (path: string) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
};

/**
 * A hostile user's workload against a runtime that runs as root (as CI does): it gets a uid of
 * its own and cannot read what belongs to the service or to another workload. Real programs,
 * real uids, real /proc.
 */
(isRoot ? describe : describe.skip)('ProcessRuntime with workload isolation (run as root)', () => {
  let fixture: ProcessFixture;
  let runtime: ProcessRuntime;
  const secret = `lp-secret-${Math.random().toString(36).slice(2)}`;

  beforeEach(() => {
    fixture = new ProcessFixture();
    // mkdtemp makes the fixture's root 0700; a workload must be able to pass through it (not list it).
    chmodSync(fixture.root, 0o711);
    chmodSync(fixture.script, 0o644);
    process.env.LP_TEST_SERVICE_SECRET = secret;
    runtime = fixture.runtime({ isolation: { uidRange: RANGE }, limits: { maxProcesses: 64, maxOpenFiles: 256 } });
  });

  afterEach(async () => {
    delete process.env.LP_TEST_SERVICE_SECRET;
    await fixture.cleanup();
  });

  it('runs each workload as a uid of its own from the range, in a work directory only it owns', async () => {
    const a = fixture.spec();
    const b = fixture.spec();
    await runtime.ensureRunning(a);
    await runtime.ensureRunning(b);
    const readyA = await fixture.waitForPhase(runtime, a.id, 'ready');
    await fixture.waitForPhase(runtime, b.id, 'ready');

    const uidA = statSync(fixture.workDir(a.id)).uid;
    const uidB = statSync(fixture.workDir(b.id)).uid;
    expect(uidA).toBeGreaterThanOrEqual(RANGE.first);
    expect(uidA).toBeLessThanOrEqual(RANGE.last);
    expect(uidB).not.toBe(uidA);
    expect(statSync(fixture.workDir(a.id)).mode & 0o777).toBe(0o700);
    expect(statSync(join(fixture.dataDir, a.id, 'home')).mode & 0o777).toBe(0o700);
    // The runtime's own records stay its own.
    expect(statSync(join(fixture.dataDir, a.id, 'state.json')).uid).toBe(0);
    expect(statSync(join(fixture.dataDir, a.id, 'state.json')).mode & 0o077).toBe(0);
    expect(statSync(join(fixture.dataDir, a.id, 'output.log')).mode & 0o077).toBe(0);
    expect(statSync(fixture.dataDir).mode & 0o777).toBe(0o711);

    const seen = JSON.parse((await httpGet(`${readyA.endpoint}${a.baseUrl}`)).body);
    const status = readFileSync(`/proc/${seen.pid}/status`, 'utf8');
    expect(status).toMatch(new RegExp(`^Uid:\\s+${uidA}\\s+${uidA}\\s+${uidA}\\s+${uidA}$`, 'm'));
    expect(status).toMatch(new RegExp(`^Gid:\\s+${uidA}\\s+${uidA}\\s+${uidA}\\s+${uidA}$`, 'm'));
    expect(status).toMatch(/^Groups:\s*$/m);
    expect(status).toMatch(/^CapEff:\s+0+$/m);
    expect(seen.env.USER).toBe(`launchpad-${uidA}`);
    expect(JSON.stringify(seen.env)).not.toContain(secret);
  });

  it("refuses a hostile session the service's environment, its state, and another workload's files", async () => {
    // Stands for a service: a process of ours with a secret in its (real, kernel-held) environment.
    const service: ChildProcess = spawn('sleep', ['600'], { env: { PATH: process.env.PATH, LP_TEST_SERVICE_SECRET: secret }, stdio: 'ignore' });
    try {
      await attack(service.pid!);
    } finally {
      service.kill('SIGKILL');
    }
  });

  async function attack(servicePid: number): Promise<void> {
    // We can read it: the test below would see the secret, were the workload as privileged as we are.
    expect(readFileSync(`/proc/${servicePid}/environ`, 'utf8')).toContain(secret);
    const victim = fixture.spec();
    await runtime.ensureRunning(victim);
    await fixture.waitForPhase(runtime, victim.id, 'ready');
    writeFileSync(join(fixture.workDir(victim.id), 'private.txt'), 'the victim wrote this');
    chmodSync(join(fixture.workDir(victim.id), 'private.txt'), 0o644);

    const attacker = fixture.spec({
      command: ['/bin/sh'],
      args: [
        '-c',
        [
          `cat /proc/${servicePid}/environ && echo READ-SERVICE-ENV`,
          'for f in /proc/[0-9]*/environ; do cat "$f" 2>/dev/null; done | tr "\\0" "\\n" > env-dump.txt',
          `ls ${fixture.dataDir} && echo LISTED-DATA-DIR`,
          `cat ${join(fixture.dataDir, victim.id, 'state.json')} && echo READ-STATE`,
          `cat ${join(fixture.dataDir, victim.id, 'output.log')} && echo READ-LOG`,
          `ls ${fixture.workDir(victim.id)} && echo LISTED-VICTIM`,
          `cat ${join(fixture.workDir(victim.id), 'private.txt')} && echo READ-VICTIM`,
          `ls ${join(fixture.dataDir, '.users')} && echo LISTED-UIDS`,
          `kill -0 ${servicePid} && echo SIGNALLED-SERVICE`,
          'echo ATTACK-DONE',
          'exec sleep 600',
        ].join('; '),
      ],
    });
    await runtime.ensureRunning(attacker);
    const output = await waitFor('the attack to finish', async () => {
      const lines = (await runtime.logs(attacker.id, 200)).join('\n');
      return lines.includes('ATTACK-DONE') ? lines : null;
    });
    for (const marker of ['READ-SERVICE-ENV', 'LISTED-DATA-DIR', 'READ-STATE', 'READ-LOG', 'LISTED-VICTIM', 'READ-VICTIM', 'LISTED-UIDS', 'SIGNALLED-SERVICE']) {
      expect(output).not.toContain(marker);
    }
    expect(output).toContain('Permission denied');
    const dumped = readFileSync(join(fixture.workDir(attacker.id), 'env-dump.txt'), 'utf8');
    expect(dumped).not.toContain(secret);
    // What it could read is its own environment only.
    expect(dumped).toContain(`LAUNCHPAD_WORK_DIR=${fixture.workDir(attacker.id)}`);
  }

  it("hides every other user's processes from a workload in its namespace: no other's command line, so no other's port", async () => {
    const namespaced = fixture.runtime({ isolation: { uidRange: RANGE, namespace: await probeWorkloadNamespace([], fixture.dataDir) } });
    const victim = fixture.spec();
    await namespaced.ensureRunning(victim);
    const ready = await fixture.waitForPhase(namespaced, victim.id, 'ready');
    const victimPid = JSON.parse((await httpGet(`${ready.endpoint}${victim.baseUrl}`)).body).pid as number;
    // We can read it: the workload below would, were its /proc the machine's.
    expect(readFileSync(`/proc/${victimPid}/cmdline`, 'utf8')).not.toBe('');
    const attacker = fixture.spec({
      command: ['/bin/sh'],
      args: ['-c', `cat /proc/${victimPid}/cmdline && echo READ-VICTIM; cat /proc/1/cmdline && echo READ-INIT; echo "SEEN $(ls -d /proc/[0-9]* | wc -l) SELF $(cat /proc/self/status | grep -c ^Uid)"; echo ATTACK-DONE; exec sleep 600`],
    });
    await namespaced.ensureRunning(attacker);
    const output = await waitFor('the attack to finish', async () => {
      const lines = (await namespaced.logs(attacker.id, 200)).join('\n');
      return lines.includes('ATTACK-DONE') ? lines : null;
    });
    expect(output).not.toContain('READ-VICTIM');
    expect(output).not.toContain('READ-INIT');
    // Its own processes only (the shell, ls, wc and the like), and its own /proc/self.
    const seen = Number(/SEEN (\d+)/.exec(output)?.[1]);
    expect(seen).toBeGreaterThan(0);
    expect(seen).toBeLessThan(10);
    expect(output).toContain('SELF 1');
  });

  it('clones as the workload user, and holds the program to its limits', async () => {
    const upstream = fixture.gitRepository('analysis', { 'README.md': '# analysis\n' });
    chmodSync(join(fixture.root, 'upstream'), 0o755);
    const spec = fixture.spec({
      command: ['/bin/sh'],
      args: ['-c', 'echo "files=$(ulimit -n) procs=$(ulimit -p) data=$(ulimit -d)"; exec sleep 600'],
      repositories: [{ name: 'analysis', url: upstream }],
      resources: { cpu: 1, memoryMb: 300, gpu: 0, diskGb: 1 },
    });
    await runtime.ensureRunning(spec);
    const line = await waitFor('the limits line', async () => (await runtime.logs(spec.id, 10)).find((l) => l.startsWith('files=')) ?? null);
    expect(line).toBe(`files=256 procs=64 data=${300 * 1024}`);
    const uid = statSync(fixture.workDir(spec.id)).uid;
    expect(statSync(join(fixture.workDir(spec.id), 'analysis', 'README.md')).uid).toBe(uid);
    expect(statSync(join(fixture.workDir(spec.id), 'analysis', '.git')).uid).toBe(uid);
  });

  it('fails, naming the limit, a program that allocates more memory than its class', async () => {
    const spec = fixture.spec({
      command: [process.execPath],
      args: ['-e', 'const kept = []; for (let i = 0; i < 100; i++) kept.push(Buffer.alloc(16 * 1024 * 1024, 1)); console.log("allocated 1.6 GB")'],
      resources: { cpu: 1, memoryMb: 256, gpu: 0, diskGb: 1 },
    });
    await runtime.ensureRunning(spec);
    const failed = await waitFor('the program to fail', async () => {
      const status = await runtime.status(spec.id);
      return status?.phase === 'failed' ? status : null;
    });
    expect(failed.message).toMatch(/allocation failed|out of memory/i);
    expect(failed.message).not.toContain('allocated 1.6 GB');
  });

  it('gives the uid back when the workload is removed, and keeps it across stops', async () => {
    const spec = fixture.spec();
    await runtime.ensureRunning(spec);
    await fixture.waitForPhase(runtime, spec.id, 'ready');
    const uid = statSync(fixture.workDir(spec.id)).uid;
    await runtime.stop(spec.id);
    await runtime.ensureRunning(spec);
    await fixture.waitForPhase(runtime, spec.id, 'ready');
    expect(statSync(fixture.workDir(spec.id)).uid).toBe(uid);
    expect(readFileSync(join(fixture.dataDir, '.users', String(uid)), 'utf8')).toBe(spec.id);
    await runtime.remove(spec.id);
    expect(() => statSync(join(fixture.dataDir, '.users', String(uid)))).toThrow();
  });

  it('ends what a program left running outside its process group when it stops or exits', async () => {
    // A hostile (or careless) program: a daemon of its own session (setsid), which a signal to the
    // program's process group never reaches, then the server.
    const leaveBehind = (marker: string) =>
      fixture.spec({ command: ['/bin/sh'], args: ['-c', `setsid sleep ${marker} </dev/null >/dev/null 2>&1 & exec "$0" "$@"`, process.execPath, fixture.script] });
    const leftover = (uid: number, marker: string) =>
      readdirSync('/proc')
        .filter((entry) => /^\d+$/.test(entry))
        .filter((pid) => {
          const status = readFileSafe(`/proc/${pid}/status`);
          return new RegExp(`^Uid:\\s+${uid}\\s`, 'm').test(status) && !/^State:\s+Z/m.test(status) && readFileSafe(`/proc/${pid}/cmdline`).includes(`sleep\0${marker}`);
        });

    const spec = leaveBehind('613');
    await runtime.ensureRunning(spec);
    await fixture.waitForPhase(runtime, spec.id, 'ready');
    const uid = statSync(fixture.workDir(spec.id)).uid;
    expect(await waitFor('the daemon to start', async () => (leftover(uid, '613').length > 0 ? true : null))).toBe(true);
    // Hibernation: nothing of the workload may run on.
    await runtime.stop(spec.id);
    expect(leftover(uid, '613')).toEqual([]);

    // The program exiting by itself (killed from outside): its daemon goes with it.
    await runtime.ensureRunning(spec);
    const ready = await fixture.waitForPhase(runtime, spec.id, 'ready');
    await waitFor('the daemon to start again', async () => (leftover(uid, '613').length > 0 ? true : null));
    const served = JSON.parse((await httpGet(`${ready.endpoint}${spec.baseUrl}`)).body) as { pid: number };
    process.kill(served.pid, 'SIGKILL');
    // status() reports the exit from /proc at once; the runtime's own handling of it follows.
    await waitFor('the exit to be seen', async () => ((await runtime.status(spec.id))?.phase === 'failed' ? true : null));
    expect(await waitFor('the daemon to be ended', async () => (leftover(uid, '613').length === 0 ? true : null), 10_000)).toBe(true);
  });

  it('fails a workload whose work directory its user could not reach, saying which directory to open', async () => {
    chmodSync(fixture.root, 0o700);
    const spec = fixture.spec();
    await runtime.ensureRunning(spec);
    const failed = await waitFor('the workload to fail', async () => {
      const status = await runtime.status(spec.id);
      return status?.phase === 'failed' ? status : null;
    });
    expect(failed.message).toContain(`${fixture.root} is closed to other users`);
  });
});

describe('processIsolationFor', () => {
  it('isolates when run as root, whatever the switch says', () => {
    expect(processIsolationFor({ multiUser: false, uidRange: RANGE, uid: 0 })).toEqual({ uidRange: RANGE });
    expect(processIsolationFor({ multiUser: true, uidRange: RANGE, uid: 0 })).toEqual({ uidRange: RANGE });
  });

  it('runs a single-user installation as its own user, and refuses a multi-user one it cannot isolate', () => {
    expect(processIsolationFor({ multiUser: false, uidRange: RANGE, uid: 1000 })).toBeNull();
    expect(() => processIsolationFor({ multiUser: true, uidRange: RANGE, uid: 1000 })).toThrow(/RUNTIME_MULTI_USER is true, but this service runs as uid 1000/);
  });
});

describe('repository policy of the process runtime', () => {
  let fixture: ProcessFixture;
  beforeEach(() => (fixture = new ProcessFixture()));
  afterEach(() => fixture.cleanup());

  it('refuses to clone a local repository unless development allows it', async () => {
    const upstream = fixture.gitRepository('analysis', { 'README.md': '# analysis\n' });
    const runtime = fixture.runtime({ repositoryPolicy: { hosts: null, allowFile: false } });
    const spec = fixture.spec({ repositories: [{ name: 'analysis', url: `file://${upstream}` }] });
    await runtime.ensureRunning(spec);
    const failed = await waitFor('the workload to fail', async () => {
      const status = await runtime.status(spec.id);
      return status?.phase === 'failed' ? status : null;
    });
    expect(failed.message).toMatch(/will not clone repository "analysis" .*file:\/\/ repositories are for development only/);
  });

  it('refuses a host the operator did not list', async () => {
    const runtime = fixture.runtime({ repositoryPolicy: { hosts: ['gitlab.example.com'], allowFile: false } });
    const spec = fixture.spec({ repositories: [{ name: 'x', url: 'https://evil.example.net/x.git' }] });
    await runtime.ensureRunning(spec);
    const failed = await waitFor('the workload to fail', async () => {
      const status = await runtime.status(spec.id);
      return status?.phase === 'failed' ? status : null;
    });
    expect(failed.message).toContain('host evil.example.net is not one this installation clones from');
  });
});
