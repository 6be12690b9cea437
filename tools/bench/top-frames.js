#!/usr/bin/env node
// `node tools/bench/top-frames.js <file.cpuprofile> [n]`: the frames with the most self time, and
// the packages (node_modules/<pkg>, node: internals, our code) with the most self time.
import { readFileSync } from 'node:fs';

export function topFrames(path, n = 25) {
  const profile = JSON.parse(readFileSync(path, 'utf8'));
  const self = new Map();
  const byNode = new Map(profile.nodes.map((node) => [node.id, node]));
  const counts = new Map();
  for (const id of profile.samples) counts.set(id, (counts.get(id) ?? 0) + 1);
  const total = profile.samples.length;
  const idle = new Set(['(idle)', '(program)', '(garbage collector)']);
  const pkg = new Map();
  for (const [id, count] of counts) {
    const { callFrame } = byNode.get(id);
    const where = callFrame.url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, 'node_modules/').replace(/^.*\/(apps|libs)\//, '$1/');
    const key = `${callFrame.functionName || '(anonymous)'} ${where}:${callFrame.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + count);
    const owner = idle.has(callFrame.functionName)
      ? callFrame.functionName
      : where.startsWith('node_modules/')
        ? where.split('/').slice(1, where.split('/')[1].startsWith('@') ? 3 : 2).join('/')
        : where.startsWith('node:') || where === ''
          ? 'node (internals, native)'
          : where.split('/').slice(0, 2).join('/');
    pkg.set(owner, (pkg.get(owner) ?? 0) + count);
  }
  const pct = (c) => `${((100 * c) / total).toFixed(1).padStart(5)} %`;
  const lines = [`${path}: ${total} samples`];
  lines.push('  by package:');
  for (const [k, c] of [...pkg].sort((a, b) => b[1] - a[1]).slice(0, 12)) lines.push(`   ${pct(c)}  ${k}`);
  lines.push('  frames (self time):');
  for (const [k, c] of [...self].sort((a, b) => b[1] - a[1]).slice(0, n)) lines.push(`   ${pct(c)}  ${k}`);
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(topFrames(process.argv[2], Number(process.argv[3] ?? 25)));
}
