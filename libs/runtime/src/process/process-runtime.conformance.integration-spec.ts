import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ConformanceProgram, runtimeConformance } from '../../testing/conformance.js';
import { ProcessFixture } from '../../testing/process-fixtures.js';
import type { WorkloadSpec, WorkloadStatus } from '../runtime.js';

/** The conformance programs, as plain node scripts on this machine. */
const PROGRAM = `
import { createServer } from 'node:http';
const env = process.env;
if (process.argv[2] === 'exit') {
  console.log('conformance: about to fail');
  process.exit(3);
}
console.log('conformance: ' + (env.CONFORMANCE_TEXT ?? 'started'));
const base = env.LAUNCHPAD_BASE_URL ?? '/';
createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname === base + 'say') console.log('conformance: ' + url.searchParams.get('text'));
  res.end('ok');
}).listen(Number(env.PORT), '127.0.0.1');
`;

runtimeConformance('process', async () => {
  const fixture = new ProcessFixture();
  const script = join(fixture.root, 'conformance.mjs');
  writeFileSync(script, PROGRAM);
  return {
    runtime: fixture.runtime(),
    program: (id: string, program: ConformanceProgram, env: Record<string, string> = {}): WorkloadSpec =>
      fixture.spec({ id, command: [process.execPath], args: [script, program], env, defaultUrl: '/' }),
    say: async (status: WorkloadStatus, text: string) => {
      const res = await fetch(`${status.endpoint}/sessions/${status.id}/say?text=${encodeURIComponent(text)}`);
      await res.text();
    },
    cleanup: () => fixture.cleanup(),
  };
});
