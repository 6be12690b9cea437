#!/usr/bin/env node
// `npm start`'s first step: the TypeScript build, saying what it builds as it goes (a fresh clone
// compiles every library and service, which takes minutes; an up-to-date tree takes seconds).
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const started = Date.now();
const say = (line) => process.stdout.write(`[launchpad] ${line}\n`);
say('building the TypeScript projects (a first build takes a few minutes; later ones only rebuild what changed)');

const child = spawn(process.execPath, [tsc, '-b', 'tsconfig.build.json', '--verbose'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
let buffer = '';
let built = 0;
child.stdout.on('data', (chunk) => {
  buffer += chunk.toString();
  let end;
  while ((end = buffer.indexOf('\n')) >= 0) {
    const line = buffer.slice(0, end);
    buffer = buffer.slice(end + 1);
    // tsc -b --verbose: "Building project '/…/libs/contracts/tsconfig.json'..."; errors pass through as they are.
    const project = /Building project '([^']+)'/.exec(line)?.[1];
    if (project) {
      built++;
      say(`  building ${relative(ROOT, dirname(project)) || '.'} (${Math.round((Date.now() - started) / 1000)} s)`);
    } else if (/error TS\d+/.test(line)) {
      process.stdout.write(`${line}\n`);
    }
  }
});
child.on('close', (code) => {
  if (code !== 0) {
    say(`the build failed (exit code ${code}); see the errors above`);
    process.exit(code ?? 1);
  }
  say(built === 0 ? 'everything was up to date' : `built ${built} project(s) in ${Math.round((Date.now() - started) / 1000)} s`);
});
