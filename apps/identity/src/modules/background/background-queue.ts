import { randomUUID } from 'node:crypto';
import { errSummary, rateLimited, type Logger } from '@usergraph/service-kit';

/**
 * Work done after a request was answered (issue 12, finding 8): looking up
 * the account and issuing its code, so that neither the answer nor its
 * timing depends on whether the account exists. Tasks run one at a time, in
 * order; the queue is bounded, and a full queue refuses new work with
 * RATE_LIMITED before anything is looked up. A failed task is logged with an
 * id; the user asks again.
 */
export function createBackgroundQueue(logger: Logger, maxQueued: number) {
  const queue: Array<{ name: string; run: () => Promise<void> }> = [];
  let draining: Promise<void> | undefined;

  async function drain(): Promise<void> {
    for (let task = queue.shift(); task; task = queue.shift()) {
      try {
        await task.run();
      } catch (err) {
        logger.error({ errorId: randomUUID(), task: task.name, err: errSummary(err) }, 'background task failed');
      }
    }
  }

  function kick(): void {
    if (draining) return;
    draining = drain().finally(() => {
      draining = undefined;
      if (queue.length > 0) kick();
    });
  }

  return {
    enqueue(name: string, run: () => Promise<void>): void {
      if (queue.length >= maxQueued) throw rateLimited('The server is busy; try again shortly', 1);
      queue.push({ name, run });
      kick();
    },
    /** Resolves once every queued task ran (for shutdown). */
    idle: async () => {
      while (draining) await draining;
    },
  };
}

export type BackgroundQueue = ReturnType<typeof createBackgroundQueue>;
