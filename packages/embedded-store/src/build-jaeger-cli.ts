// `node packages/embedded-store/dist/build-jaeger-cli.js` (npm run build:jaeger): builds
// Jaeger ahead of time; the tracing e2e test and the bench also build it on demand (cached).
// `--background`: starts that build detached, its output in tools/jaeger/bin/build.log, and
// returns at once (`npm test` does, so that a cold build overlaps the rest of the suite).
import { ensureJaegerBinary, startJaegerBuildInBackground } from './jaeger.js';

const started = Date.now();
const stamp = () => `[${new Date().toISOString()}]`;
try {
  if (process.argv.includes('--background')) {
    const { pid, logFile } = await startJaegerBuildInBackground();
    console.log(`Checking or building Jaeger in the background (pid ${pid ?? '?'}, log ${logFile}).`);
  } else {
    const { path, built } = await ensureJaegerBinary({ log: (line) => console.log(`${stamp()} ${line}`) });
    const seconds = ((Date.now() - started) / 1000).toFixed(0);
    console.log(`${stamp()} ${built ? `Jaeger built in ${seconds} s` : 'Jaeger is up to date'}: ${path}`);
  }
} catch (err) {
  console.error(`${stamp()} ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
