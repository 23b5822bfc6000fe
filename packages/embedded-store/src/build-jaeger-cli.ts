// `node packages/embedded-store/dist/build-jaeger-cli.js` (npm run build:jaeger):
// builds Jaeger ahead of time; the tracing e2e test also builds it on demand (cached).
import { ensureJaegerBinary } from './jaeger.js';

try {
  const { path, built } = await ensureJaegerBinary({ log: (line) => console.log(line) });
  console.log(built ? `Jaeger built: ${path}` : `Jaeger is up to date: ${path}`);
} catch (err) {
  console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
}
