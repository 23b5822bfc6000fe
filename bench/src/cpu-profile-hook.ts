/**
 * Loaded into a service with `NODE_OPTIONS=--import <this file's URL>` by tracing-cost.ts `--profile DIR`:
 * each SIGUSR2 starts or stops a V8 CPU profile (so only the measured load is profiled, not the start-up),
 * written to DIR as `<service>-<pid>-<n>.cpuprofile` (Chrome DevTools or speedscope open it;
 * `node bench/dist/profile-summary.js` sums it by package). With USERGRAPH_COUNT_PROMISES=1 it counts
 * the promises the process creates instead (what Node 20's AsyncLocalStorage hooks), into `<...>.promises`.
 */
import { createHook } from 'node:async_hooks';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { basename, dirname, join } from 'node:path';
import { COUNT_PROMISES, CPU_PROFILE_DIR } from './env.js';

const dir = CPU_PROFILE_DIR;
if (dir) {
  const service = basename(dirname(dirname(process.argv[1] ?? 'unknown')));
  const session = new Session();
  session.connect();
  let running = false;
  let n = 0;
  const counting = COUNT_PROMISES;
  let promises = 0;
  const counter = createHook({
    init: (_id, type) => {
      if (type === 'PROMISE') promises++;
    },
  });
  process.on('SIGUSR2', () => {
    if (counting) {
      if (running) {
        counter.disable();
        writeFileSync(join(dir, `${service}-${process.pid}-${n++}.promises`), String(promises));
      } else {
        promises = 0;
        counter.enable();
      }
      running = !running;
      return;
    }
    const toggle = running
      ? session.post('Profiler.stop').then(({ profile }) => {
          writeFileSync(join(dir, `${service}-${process.pid}-${n++}.cpuprofile`), JSON.stringify(profile));
        })
      : session
          .post('Profiler.enable')
          .then(() => session.post('Profiler.setSamplingInterval', { interval: 200 }))
          .then(() => session.post('Profiler.start'));
    running = !running;
    toggle.catch((err: unknown) => process.stderr.write(`cpu-profile-hook: ${String(err)}\n`));
  });
}
