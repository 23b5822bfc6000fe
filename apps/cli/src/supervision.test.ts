import { describe, expect, it } from 'vitest';
import { judgeCrash, SUPERVISION } from './stack.js';

/** Replays crashes, each after a run of `ranMs[i]`, under the default policy; returns each verdict until the launcher gives up. */
function replay(ranMs: number[]) {
  const verdicts = [];
  let inARow = 0;
  for (const ran of ranMs) {
    const verdict = judgeCrash(inARow, ran, SUPERVISION);
    verdicts.push(verdict);
    if (verdict.giveUp) break;
    inARow = verdict.inARow;
  }
  return verdicts;
}

describe('the crash-loop policy of npm start', () => {
  it('gives up on a slow crash loop: a crash every 20 s ends at the fifth, the backoff doubling on the way', () => {
    const verdicts = replay(Array(50).fill(20_000));
    expect(verdicts.map((v) => v.delayMs)).toEqual([500, 1000, 2000, 4000, 8000]);
    expect(verdicts.map((v) => v.giveUp)).toEqual([false, false, false, false, true]);
  });

  it('gives up on a fast crash loop, and on restarts that never get ready (a run of 0 s)', () => {
    expect(replay(Array(50).fill(0)).length).toBe(5);
    expect(replay(Array(50).fill(300)).at(-1)!.giveUp).toBe(true);
  });

  it('keeps restarting a service that runs the stable time (60 s) between crashes, with the first backoff each time', () => {
    const verdicts = replay(Array(50).fill(60_000));
    expect(verdicts.length).toBe(50);
    expect(verdicts.every((v) => !v.giveUp && v.inARow === 1 && v.delayMs === 500)).toBe(true);
  });

  it('clears the count after one stable run: four quick crashes, a stable run, then four more quick ones', () => {
    const verdicts = replay([1000, 1000, 1000, 1000, 90_000, 1000, 1000, 1000, 1000]);
    expect(verdicts.map((v) => v.inARow)).toEqual([1, 2, 3, 4, 1, 2, 3, 4, 5]);
    expect(verdicts.at(-1)!.giveUp).toBe(true);
  });

  it('caps the backoff at 10 s when more crashes are allowed', () => {
    const delays = Array.from({ length: 8 }, (_, i) => judgeCrash(i, 0, { maxCrashes: 100, stableMs: 60_000 }).delayMs);
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000]);
  });
});
