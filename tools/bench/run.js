#!/usr/bin/env node
// `npm run bench`: every part, one after the other (each starts its own platform, on its own
// database and NATS server, and measures its baselines in the same run).
// `npm run bench -- sessions builds`: only the parts named; `faults` (the fault-injection run) runs only when named.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PARTS = ['gateway', 'sessions', 'apps', 'builds', 'burst', 'compare', 'faults'];
// Run only when named: the fault-injection run is a correctness check that takes minutes, not a measurement.
const NAMED_ONLY = ['faults'];
const here = dirname(fileURLToPath(import.meta.url));
const asked = process.argv.slice(2);
const unknown = asked.filter((p) => !PARTS.includes(p));
if (unknown.length > 0) {
  console.error(`unknown benchmark part(s): ${unknown.join(', ')}; the parts are: ${PARTS.join(', ')}`);
  process.exit(2);
}
let failed = false;
for (const part of asked.length > 0 ? asked : PARTS.filter((p) => !NAMED_ONLY.includes(p))) {
  const script = join(here, `${part}.js`);
  if (!existsSync(script)) continue;
  console.log(`\n=== ${part} ===`);
  const { status } = spawnSync(process.execPath, [script], { stdio: 'inherit' });
  if (status !== 0) {
    console.error(`benchmark part "${part}" failed (exit ${status})`);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
