// Preloaded into each service by `npm run bench` when asked for profiles (node --import): the first
// SIGWINCH starts the V8 CPU profiler, the next writes <BENCH_CPU_PROF_DIR>/<service>-<pid>.cpuprofile
// (open it in Chrome's DevTools or speedscope; tools/bench/top-frames.js prints its heaviest
// frames). SIGWINCH because Nest's shutdown hooks take SIGUSR2, and its default is to ignore it. A signal rather than --cpu-prof: that one writes only at a clean exit, which a service
// stopped by a signal never has, and would profile start-up too.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { basename, dirname, join } from 'node:path';

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
    })();
  });
}
