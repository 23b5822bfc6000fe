/**
 * P4's reference: the raw argon2id hash rate on this machine, in its own
 * process, with the parameters identity uses (m=19456 KiB, t=2, p=1 by
 * default) and a given number of hashes in flight.
 *
 *   node bench/dist/hash-rate.js '{"concurrency":4,"seconds":5,"memoryCost":19456,"timeCost":2,"parallelism":1}'
 *
 * Prints one line of JSON: { concurrency, hashes, seconds, rate }.
 */
import { randomBytes } from 'node:crypto';
import argon2 from 'argon2';
import { UV_THREADPOOL_SIZE } from './env.js';
import { readConfigArg } from './util.js';

export interface HashRateConfig {
  concurrency: number;
  seconds: number;
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

export interface HashRateResult extends HashRateConfig {
  hashes: number;
  rate: number;
  threadpool: number;
}

async function main() {
  const config = readConfigArg<HashRateConfig>(process.argv[2]);
  const options = { type: argon2.argon2id, memoryCost: config.memoryCost, timeCost: config.timeCost, parallelism: config.parallelism };
  // Warm up: the first hash allocates and loads the native module.
  await argon2.hash('warm-up-password-1', options);
  const started = process.hrtime.bigint();
  const deadline = Date.now() + config.seconds * 1000;
  let hashes = 0;
  const worker = async () => {
    while (Date.now() < deadline) {
      await argon2.hash(randomBytes(12).toString('base64url'), options);
      hashes++;
    }
  };
  await Promise.all(Array.from({ length: config.concurrency }, worker));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const result: HashRateResult = { ...config, hashes, seconds, rate: hashes / seconds, threadpool: UV_THREADPOOL_SIZE };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`hash-rate failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
