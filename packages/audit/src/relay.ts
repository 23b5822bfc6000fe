import type { AuditEvent } from '@usergraph/contracts';
import { errSummary, type Logger } from '@usergraph/service-kit';
import type { AuditSource } from './outbox.js';

const BATCH = 200;
/** Batches per source in one pass: a pass always ends (what is left waits for the next). */
const MAX_BATCHES = 50;
/**
 * One `recordAuditEvents` call's events, in JSON bytes: well under a service's
 * MAX_BODY_BYTES (100,000 by default), which refuses a bigger body before the
 * command runs — and the same batch would be refused on every later pass.
 */
export const MAX_SINK_BYTES = 48_000;
/** The longest the relay waits between retries while the sink keeps failing (an org-users that is down). */
export const MAX_RETRY_DELAY_MS = 10 * 60_000;

/** The wait before the retry after `failures` failed runs in a row: the interval, doubled per failure, capped, jittered (½ to 1). */
export function retryDelayMs(intervalMs: number, failures: number, random: () => number = Math.random): number {
  const delay = Math.max(intervalMs, Math.min(MAX_RETRY_DELAY_MS, intervalMs * 2 ** Math.min(failures - 1, 20)));
  return delay * (0.5 + random() / 2);
}

/** Splits events, in order, into runs of at most `maxBytes` of JSON each (an event is never split). */
export function chunksBySize(events: AuditEvent[], maxBytes = MAX_SINK_BYTES): AuditEvent[][] {
  const chunks: AuditEvent[][] = [];
  let current: AuditEvent[] = [];
  let size = 0;
  for (const event of events) {
    const bytes = Buffer.byteLength(JSON.stringify(event)) + 1;
    if (current.length > 0 && size + bytes > maxBytes) {
      chunks.push(current);
      current = [];
      size = 0;
    }
    current.push(event);
    size += bytes;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** What a sink answers: the events it refused for good, by id and reason (nothing for a sink that refuses none). */
// eslint-disable-next-line @typescript-eslint/no-invalid-void-type -- a sink that never refuses answers nothing (`async () => {}`)
export type AuditSinkAnswer = { refused?: Array<{ id: string; reason: string }> } | void;

/**
 * Moves events from a service's outboxes to org-users' log (`sink`: the
 * `recordAuditEvents` command, or org-users' own store), then removes them
 * from the outbox. The sink is idempotent by event id, so a crash between the
 * two only sends an event twice, and the log keeps it once.
 *
 * - `kick()` after a write, never awaited on the request path: one drain runs
 *   at a time, and a kick during it runs one more after it.
 * - every `intervalMs`: what a failed pass left (an unavailable org-users),
 *   without scanning the big collections that carry events in their documents.
 *   While the sink keeps failing, the retries back off (`retryDelayMs`) and kicks
 *   only note their documents: a down org-users gets one call per retry, not one
 *   per write. A full pass that failed is retried by first sending again the
 *   batch that failed (no scan); only once that arrives does the scan run again.
 * - `drain()` at start and inside `usergraph reconcile`: everything, now (what a
 *   crash left behind). A pass over `users` or `assignments` is a scan on the
 *   embedded store: about 1 s per 20,000 documents.
 * Failures are logged with the event ids and retried by the next run.
 */
export function createAuditRelay(opts: {
  /** Events the log refused (AUDIT_ACTIONS, occurredAt bounds) come back in `refused`: they never will be stored. */
  sink: (events: AuditEvent[]) => Promise<AuditSinkAnswer>;
  sources: AuditSource[];
  logger: Pick<Logger, 'error'>;
  intervalMs: number;
  /** Tests: the jitter of the retry delay (Math.random). */
  random?: () => number;
}) {
  let running: Promise<number> | undefined;
  /** A kick came in during a pass: one more pass follows it. */
  let kickedDuringPass = false;
  const takeKick = (): boolean => {
    const kicked = kickedDuringPass;
    kickedDuringPass = false;
    return kicked;
  };
  /** A full pass failed (or none ran yet): the next interval pass is a full one. */
  let needsFull = false;
  let timer: NodeJS.Timeout | undefined;
  /** Documents kicks named, per source, not yet looked at. */
  const hints = new Map<AuditSource, Set<string>>();
  /** Failed runs in a row, and when the next may call the sink (0: now). */
  let failures = 0;
  let retryAt = 0;
  /** The last batch the sink refused (until a send succeeds): sent again before a full pass scans anything. */
  let unsent: { source: AuditSource; events: AuditEvent[] } | undefined;
  const send = async (source: AuditSource, events: AuditEvent[]) => {
    for (const chunk of chunksBySize(events)) {
      const refused = (await opts.sink(chunk))?.refused ?? [];
      // Refused for good: dropped with the rest of the batch, not retried forever ahead of the events behind them.
      if (refused.length > 0)
        opts.logger.error({ source: source.name, refused }, 'audit relay: events refused by the audit log, dropped from the outbox');
    }
    unsent = undefined;
  };

  async function drainOnce(full: boolean): Promise<number> {
    let moved = 0;
    if (full && unsent) {
      // Whether the sink is back, without a scan: the batch it refused last.
      const { source, events } = unsent;
      try {
        await send(source, events);
        await source.done(events);
      } catch (err) {
        needsFull = true; // the scan is still owed
        throw err;
      }
      moved += events.length;
    }
    for (const source of opts.sources) {
      let ids: string[] | undefined;
      if (!full && !source.cheapScan) {
        ids = [...(hints.get(source) ?? [])];
        if (ids.length === 0) continue;
      }
      hints.delete(source);
      for (let batch = 0; batch < MAX_BATCHES; batch++) {
        const events = await source.pending(BATCH, ids).catch((err: unknown) => {
          remember(source, ids, full);
          throw err;
        });
        if (events.length === 0) break;
        try {
          await send(source, events);
        } catch (err) {
          // The events stay where they are; the next interval pass looks again (at the same documents, or at everything).
          remember(source, ids, full);
          unsent = { source, events };
          opts.logger.error(
            { err: errSummary(err), source: source.name, eventIds: events.map((e) => e.id) },
            'audit relay: events not delivered, kept in the outbox for the next run',
          );
          throw err;
        }
        await source.done(events);
        moved += events.length;
        if (events.length < BATCH) break;
      }
    }
    return moved;
  }

  /** After a failed pass: what it was looking at is looked at again by the next interval pass. */
  function remember(source: AuditSource, ids: string[] | undefined, full: boolean): void {
    if (full) needsFull = true;
    // A cheap source (no ids) is looked at whole by every pass anyway.
    else if (ids) hints.set(source, new Set([...(hints.get(source) ?? []), ...ids]));
  }

  /** Runs passes until no kick came in during the last one; `full`: over everything waiting, not only what kicks named. */
  function run(full: boolean): Promise<number> {
    if (running) {
      // A full pass asked for during another pass runs right after it (its count is what the caller waits for).
      if (full)
        return running.then(
          () => run(true),
          () => run(true),
        );
      kickedDuringPass = true;
      return running;
    }
    running = (async () => {
      let total = 0;
      try {
        takeKick();
        let pass = full;
        do {
          total += await drainOnce(pass);
          pass = false;
        } while (takeKick());
        failures = 0;
        retryAt = 0;
      } catch (err) {
        failures++;
        retryAt = Date.now() + retryDelayMs(opts.intervalMs, failures, opts.random);
        throw err;
      } finally {
        running = undefined;
      }
      return total;
    })();
    return running;
  }

  const logRunFailure = (err: unknown) =>
    opts.logger.error({ err: errSummary(err) }, 'audit relay: run failed, retried on the next interval');

  /** After a write: `doc` names the document of a source whose events it carries (a cheap source needs no name). */
  function kick(doc?: { source: AuditSource; id: string }): void {
    if (doc) {
      const ids = hints.get(doc.source) ?? new Set<string>();
      hints.set(doc.source, ids.add(doc.id));
    }
    // While the sink is failing, the retry (interval) looks at the named documents: a write costs the sink no call.
    if (Date.now() < retryAt) return;
    // Logged in drainOnce with the event ids; the interval and reconcile retry.
    run(false).catch(logRunFailure);
  }
  /** Everything waiting, in every source. */
  const drain = () => run(true);

  return {
    kick,
    /** Everything waiting, now (reconcile); the number of events moved. */
    drain,
    start: () => {
      // The interval retries what failed: the cheap outbox whole, the documents kicks named, and a full pass only
      // after a full pass failed. What a crash left in documents is found by the start-up pass and by reconcile.
      timer ??= setInterval(() => {
        if (Date.now() < retryAt) return;
        const full = needsFull;
        needsFull = false;
        run(full).catch(logRunFailure);
      }, opts.intervalMs);
      timer.unref();
    },
    stop: async () => {
      if (timer) clearInterval(timer);
      timer = undefined;
      await running?.catch((err: unknown) => opts.logger.error({ err: errSummary(err) }, 'audit relay: last run failed at stop'));
    },
  };
}

export type AuditRelay = ReturnType<typeof createAuditRelay>;
