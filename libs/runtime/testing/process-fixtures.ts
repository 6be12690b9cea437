/**
 * Real parts for the process driver's integration tests: a temporary data directory, a tiny HTTP
 * server script to run as the workload's program, real git repositories, and clean-up that kills
 * every process group a test started. Not part of the library's build (outside src/).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ProcessRuntime, type ProcessRuntimeOptions } from '../src/process/process-runtime.js';
import { killProcessGroup } from '../src/process/process-identity.js';
import type { WorkloadEvent, WorkloadSpec, WorkloadStatus } from '../src/runtime.js';
import type { WorkloadState } from '../src/process/workload-files.js';

/**
 * The workload program. Options, by environment variable:
 * PRINT_LINES=n prints `line 1`..`line n`; SPAWN_GRANDCHILD=1 starts a child of its own and
 * writes its pid to grandchild.pid; IGNORE_SIGTERM=1; EXIT_BEFORE_READY=code exits at once;
 * NEVER_READY=1 never listens; LISTEN_DELAY_MS=n waits before listening; LISTEN_WHEN=path waits
 * for that file to exist before listening.
 * It answers 200 with what it sees (pid, argv, cwd, env) on any path under LAUNCHPAD_BASE_URL
 * (404 elsewhere, and on a path with `//`), and `<base>exit?code=n` makes it exit with n.
 * Every start appends its pid to starts.log in its working directory.
 */
const SERVER_SCRIPT = `
import { createServer } from 'node:http';
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';

const env = process.env;
appendFileSync('starts.log', process.pid + '\\n');
for (let i = 1; i <= Number(env.PRINT_LINES ?? 0); i++) console.log('line ' + i);
if (env.IGNORE_SIGTERM) process.on('SIGTERM', () => console.log('ignoring SIGTERM'));
if (env.SPAWN_GRANDCHILD) {
  const grandchild = spawn(process.execPath, ['-e', 'process.on("SIGTERM", () => {}); setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  writeFileSync('grandchild.pid', String(grandchild.pid));
}
if (env.EXIT_BEFORE_READY !== undefined) {
  console.error('giving up');
  process.exit(Number(env.EXIT_BEFORE_READY));
}
const listenWhen = env.LISTEN_WHEN
  ? new Promise((resolve) => {
      const timer = setInterval(() => existsSync(env.LISTEN_WHEN) && (clearInterval(timer), resolve()), 50);
    })
  : Promise.resolve();
if (env.NEVER_READY) {
  setInterval(() => {}, 1000);
} else {
  setTimeout(async () => {
    await listenWhen;
    const base = env.LAUNCHPAD_BASE_URL ?? '/';
    createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (!url.pathname.startsWith(base) || url.pathname.includes('//')) {
        res.writeHead(404).end('not here');
        return;
      }
      if (url.pathname.slice(base.length) === 'exit') {
        res.end('bye');
        setTimeout(() => process.exit(Number(url.searchParams.get('code') ?? 0)), 20);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ pid: process.pid, argv: process.argv.slice(2), cwd: process.cwd(), env }));
    }).listen(Number(env.PORT), '127.0.0.1', () => console.log('listening on ' + env.PORT));
  }, Number(env.LISTEN_DELAY_MS ?? 0));
}
`;

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false | null>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false && value !== null) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`);
}

/** Whether a process runs (a zombie does not). */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

export async function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Records every event a runtime announces. */
export function recordEvents(runtime: ProcessRuntime): WorkloadEvent[] {
  const events: WorkloadEvent[] = [];
  runtime.watch((event) => events.push(event));
  return events;
}

export class ProcessFixture {
  readonly root = realpathSync(mkdtempSync(join(tmpdir(), 'lp-process-runtime-')));
  readonly dataDir = join(this.root, 'data');
  readonly script = join(this.root, 'server.mjs');
  private readonly runtimes: ProcessRuntime[] = [];

  constructor() {
    writeFileSync(this.script, SERVER_SCRIPT);
  }

  runtime(options: Partial<ProcessRuntimeOptions> = {}): ProcessRuntime {
    // Local repositories (this fixture's own): a development setting, turned on here explicitly.
    const runtime = new ProcessRuntime({ dataDir: this.dataDir, readinessIntervalMs: 50, stopGraceMs: 2_000, repositoryPolicy: { hosts: null, allowFile: true }, ...options });
    this.runtimes.push(runtime);
    return runtime;
  }

  spec(overrides: Partial<WorkloadSpec> = {}): WorkloadSpec {
    const id = overrides.id ?? `w-${randomBytes(4).toString('hex')}`;
    return {
      id,
      kind: 'session',
      owner: { service: 'sessions', id },
      image: 'unused-by-the-process-driver',
      command: [process.execPath],
      args: [this.script],
      env: {},
      port: 8888,
      baseUrl: `/sessions/${id}/`,
      defaultUrl: '/lab',
      workingDirectory: '/work',
      repositories: [],
      resources: { cpu: 1, memoryMb: 512, gpu: 0, diskGb: 1 },
      ...overrides,
    };
  }

  workDir(id: string): string {
    return join(this.dataDir, id, 'work');
  }

  stateFile(id: string): WorkloadState {
    return JSON.parse(readFileSync(join(this.dataDir, id, 'state.json'), 'utf8'));
  }

  writeStateFile(id: string, state: unknown): void {
    writeFileSync(join(this.dataDir, id, 'state.json'), JSON.stringify(state));
  }

  /** The pids of every start of the program (one line per start), from its work directory. */
  starts(id: string): number[] {
    const path = join(this.workDir(id), 'starts.log');
    return existsSync(path) ? readFileSync(path, 'utf8').trim().split('\n').map(Number) : [];
  }

  /** Waits for a phase; a workload that fails or stops instead is reported at once, with its message. */
  async waitForPhase(runtime: ProcessRuntime, id: string, phase: WorkloadStatus['phase'], timeoutMs = 30_000): Promise<WorkloadStatus> {
    const deadline = Date.now() + timeoutMs;
    let status: WorkloadStatus | null = null;
    while (Date.now() < deadline) {
      status = await runtime.status(id);
      if (status?.phase === phase) return status;
      if (status && (status.phase === 'failed' || status.phase === 'stopped')) {
        throw new Error(`${id} is ${status.phase}, not ${phase}: ${status.message}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${id} to be ${phase}; it is ${status?.phase ?? 'unknown'}`);
  }

  /** A real git repository with one commit holding `files`. */
  gitRepository(name: string, files: Record<string, string>): string {
    const dir = join(this.root, 'upstream', name);
    mkdirSync(dir, { recursive: true });
    this.git(dir, 'init', '--quiet', '--initial-branch=main');
    this.commit(dir, files);
    return dir;
  }

  commit(dir: string, files: Record<string, string>): void {
    for (const [file, content] of Object.entries(files)) writeFileSync(join(dir, file), content);
    this.git(dir, 'add', '.');
    this.git(dir, '-c', 'user.name=Test', '-c', 'user.email=test@example.com', 'commit', '--quiet', '-m', 'a commit');
  }

  private git(cwd: string, ...args: string[]): void {
    execFileSync('git', args, { cwd, stdio: 'pipe', env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' } });
  }

  /** Closes the runtimes, kills every process group recorded under the data directory, removes everything. */
  async cleanup(): Promise<void> {
    await Promise.allSettled(this.runtimes.map((runtime) => runtime.close()));
    const ids = existsSync(this.dataDir) ? readdirSync(this.dataDir) : [];
    for (const id of ids) {
      try {
        const state = this.stateFile(id);
        if (state.pid) await killProcessGroup({ pid: state.pid, startTime: state.pidStartTime }, 0);
      } catch {
        // no state, or already gone
      }
      const grandchild = join(this.workDir(id), 'grandchild.pid');
      if (existsSync(grandchild)) {
        try {
          process.kill(Number(readFileSync(grandchild, 'utf8')), 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    rmSync(this.root, { recursive: true, force: true });
  }
}

/**
 * The runtime's source transpiled (not type-checked) to plain ESM in `outDir`, so that a separate
 * node process can run a ProcessRuntime and be SIGKILLed like a crashing service.
 */
const contractsEntry = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'contracts', 'dist', 'index.js')).href;

export async function transpileRuntime(outDir: string): Promise<string> {
  const { default: ts } = await import('typescript');
  const srcDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'src');
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? walk(join(dir, entry.name)) : [join(dir, entry.name)]));
  for (const file of walk(srcDir).filter((f) => f.endsWith('.ts') && !/\.(integration-)?spec\.ts$/.test(f))) {
    const { outputText } = ts.transpileModule(readFileSync(file, 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022, useDefineForClassFields: false },
    });
    const target = join(outDir, relative(srcDir, file)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(target), { recursive: true });
    // Outside the workspace, the library the runtime imports is found by its built path.
    writeFileSync(target, outputText.replaceAll("'@launchpad/contracts'", `'${contractsEntry}'`));
  }
  writeFileSync(join(outDir, 'package.json'), '{"type":"module"}');
  return join(outDir, 'index.js');
}

/**
 * A script that runs a ProcessRuntime as a service would: `node service.mjs <runtime index.js>
 * <dataDir> <spec json>` ensures the workload runs, prints every event as a JSON line, and stays up.
 */
export const SERVICE_SCRIPT = `
const [runtimeModule, dataDir, specJson] = process.argv.slice(2);
const { ProcessRuntime } = await import(runtimeModule);
const runtime = new ProcessRuntime({ dataDir, readinessIntervalMs: 50, repositoryPolicy: { hosts: null, allowFile: true } });
runtime.watch((event) => console.log(JSON.stringify(event)));
await runtime.ensureRunning(JSON.parse(specJson));
setInterval(() => {}, 60_000);
`;
