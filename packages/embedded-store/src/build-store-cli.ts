// `node packages/embedded-store/dist/build-store-cli.js` (npm run build:store):
// builds the embedded store ahead of time (npm test runs it before the parallel test workers start).
import { ensureEmbeddedStoreBinaryDetailed } from './embedded-store-binary.js';
import { externalMongodbUri } from './env.js';

async function main(): Promise<number> {
  if (externalMongodbUri()) {
    console.log('MONGODB_URI is set: using that server, the embedded store is not built.');
    return 0;
  }
  const started = Date.now();
  try {
    const { path, built } = await ensureEmbeddedStoreBinaryDetailed({ log: (line) => console.log(line) });
    if (built) {
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      console.log(`Embedded store built in ${seconds}s: ${path}`);
    } else {
      console.log(`Embedded store is up to date: ${path}`);
    }
    return 0;
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    return 1;
  }
}

process.exitCode = await main();
