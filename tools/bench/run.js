#!/usr/bin/env node
// `npm run bench`: every part, one after the other (each starts its own platform, on its own
// database and NATS server, and measures its baselines in the same run).
// `npm run bench -- sessions builds`: only the parts named.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PARTS = ['gateway', 'sessions', 'apps', 'builds', 'burst', 'compare'];
const here = dirname(fileURLToPath(import.meta.url));
const asked = process.argv.slice(2);
const unknown = asked.filter((p) => !PARTS.includes(p));
if (unknown.length > 0) {
  console.error(`unknown benchmark part(s): ${unknown.join(', ')}; the parts are: ${PARTS.join(', ')}`);
  process.exit(2);
}
let failed = false;
for (const part of asked.length > 0 ? asked : PARTS) {
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
