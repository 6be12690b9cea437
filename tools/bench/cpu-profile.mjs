// Preloaded into each service by `npm run bench` when asked for profiles (node --import): the first
// SIGWINCH starts the V8 CPU profiler, the next writes <BENCH_CPU_PROF_DIR>/<service>-<pid>.cpuprofile
// (open it in Chrome's DevTools or speedscope; tools/bench/top-frames.js prints its heaviest
// frames) and <service>-<pid>.memory.json, its memory by V8 heap space at that moment.
// SIGWINCH, because Nest's shutdown hooks take SIGUSR2 and the default for SIGWINCH is to ignore
// it. A signal rather than --cpu-prof: that writes only at a clean exit, which a service stopped
// by a signal never has, and it would profile start-up too.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { basename, dirname, join } from 'node:path';
import { getHeapSpaceStatistics } from 'node:v8';

const dir = process.env.BENCH_CPU_PROF_DIR;
const service = basename(dirname(dirname(process.argv[1] ?? 'unknown')));
if (dir) {
  const session = new Session();
  session.connect();
  let running = false;
  process.on('SIGWINCH', () => {
    void (async () => {
      if (!running) {
        running = true;
        await session.post('Profiler.enable');
        await session.post('Profiler.setSamplingInterval', { interval: 200 });
        await session.post('Profiler.start');
        return;
      }
      running = false;
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(join(dir, `${service}-${process.pid}.cpuprofile`), JSON.stringify(profile));
      // And what its memory is made of at that moment (resident, heap by V8 space, buffers).
      const spaces = Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, { size: s.space_size, used: s.space_used_size }]));
      writeFileSync(join(dir, `${service}-${process.pid}.memory.json`), JSON.stringify({ ...process.memoryUsage(), spaces }, null, 2));
    })();
  });
}
