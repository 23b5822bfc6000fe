import { describe, expect, it } from 'vitest';
import { createCallerLivenessCheck, type LivenessSubject } from './caller-liveness.js';

const alice: LivenessSubject = { kind: 'user', organizationId: 'org-1', userId: 'alice', sessionId: 's-1' };
const app: LivenessSubject = { kind: 'application', organizationId: 'org-1', clientId: 'app_1' };

describe('createCallerLivenessCheck', () => {
  it('asks once per subject for concurrent requests, and again once the verdict is older than ttlMs', async () => {
    const asked: LivenessSubject[] = [];
    let live = true;
    const check = createCallerLivenessCheck(
      async (subject) => {
        asked.push(subject);
        await new Promise((r) => setTimeout(r, 20));
        return { live };
      },
      { ttlMs: 100 },
    );
    expect(await Promise.all([check(alice), check(alice), check(app)])).toEqual([{ live: true }, { live: true }, { live: true }]);
    expect(asked).toEqual([alice, app]);
    live = false;
    expect(await check(alice)).toEqual({ live: true }); // still within ttlMs
    await new Promise((r) => setTimeout(r, 120));
    expect(await check(alice)).toEqual({ live: false });
    expect(asked).toHaveLength(3);
  });

  it('does not remember a failed lookup: the request fails, and the next one asks again', async () => {
    let calls = 0;
    const check = createCallerLivenessCheck(
      async () => {
        calls++;
        if (calls === 1) throw new Error('identity unreachable');
        return { live: true };
      },
      { ttlMs: 60_000 },
    );
    await expect(check(alice)).rejects.toThrow('identity unreachable');
    expect(await check(alice)).toEqual({ live: true });
    expect(calls).toBe(2);
  });

  it('with ttlMs 0 asks on every request', async () => {
    let calls = 0;
    const check = createCallerLivenessCheck(async () => (++calls, { live: true }), { ttlMs: 0 });
    await check(alice);
    await check(alice);
    expect(calls).toBe(2);
  });
});
