import { randomUUID } from 'node:crypto';
import { Schema, type Connection } from 'mongoose';
import nodemailer from 'nodemailer';
import { errSummary, type Logger } from '@usergraph/service-kit';

export interface Notification {
  to: string;
  subject: string;
  text: string;
}

/** Where verification and reset codes go: always the stored outbox first. */
export interface Notifier {
  send(notification: Notification): Promise<void>;
}

interface OutboxDoc extends Notification {
  _id: string;
  organizationId: string;
  createdAt: Date;
  /** Set with NOTIFIER=smtp: the message waits for the sender, which deletes it once delivered. */
  status?: 'pending' | 'sending';
  attempts?: number;
  nextAttemptAt?: Date;
}

const outboxSchema = new Schema<OutboxDoc>(
  {
    _id: String,
    organizationId: String,
    to: String,
    subject: String,
    text: String,
    createdAt: Date,
    status: String,
    attempts: Number,
    nextAttemptAt: Date,
  },
  { versionKey: false, collection: 'outbox' },
);

/**
 * The stored outbox. Requests only write here, so their answer never waits
 * on delivery. With `deliver` (NOTIFIER=smtp) each message is marked pending
 * for the outbox sender; without it (development) messages stay and are read
 * with `npm run usergraph -- outbox`, and nothing leaves the machine.
 */
export function createOutbox(conn: Connection, opts: { deliver: boolean; onStored?: () => void }) {
  const Outbox = conn.model<OutboxDoc>('Outbox', outboxSchema);
  return {
    Outbox,
    async send(n: Notification) {
      const delivery = opts.deliver ? { status: 'pending' as const, attempts: 0, nextAttemptAt: new Date() } : {};
      await Outbox.create({ _id: randomUUID(), organizationId: '', ...n, createdAt: new Date(), ...delivery });
      opts.onStored?.();
    },
    /** The newest messages first; optionally only those sent to one address. */
    list: (q: { to?: string; limit: number }) =>
      Outbox.find(q.to ? { to: q.to } : {})
        .sort({ createdAt: -1 })
        .limit(q.limit)
        .lean<OutboxDoc[]>()
        .exec(),
  };
}

export type OutboxStore = ReturnType<typeof createOutbox>;

const MAX_DELIVERY_ATTEMPTS = 5;
/** A message claimed this long ago by a sender that never finished (it crashed) is tried again. */
const CLAIM_TIMEOUT_MS = 2 * 60_000;

/**
 * Sends the outbox's pending messages over SMTP, in the background, one at a
 * time: woken when a message is stored, and every `pollMs` for messages a
 * crash or a failure left. A message is claimed by `_id` before it is sent,
 * so two instances never send it twice; it is deleted once delivered (codes
 * are not kept), retried with backoff, and dropped with an error log after
 * MAX_DELIVERY_ATTEMPTS (its code has expired by then anyway).
 */
export function createOutboxSender(deps: { outbox: OutboxStore; smtpUrl: string; from: string; logger: Logger; pollMs?: number }) {
  const { Outbox } = deps.outbox;
  const transport = nodemailer.createTransport(deps.smtpUrl);
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;

  async function deliverDue(): Promise<void> {
    for (;;) {
      const now = new Date();
      // Undelivered messages only (sent ones are deleted): a small collection.
      const due = await Outbox.find({
        $or: [
          { status: 'pending', nextAttemptAt: { $lte: now } },
          { status: 'sending', nextAttemptAt: { $lte: new Date(now.getTime() - CLAIM_TIMEOUT_MS) } },
        ],
      })
        .sort({ createdAt: 1 })
        .limit(20)
        .lean<OutboxDoc[]>()
        .exec();
      if (due.length === 0) return;
      for (const doc of due) {
        // Before each claim: stop() may have been called during the awaits above.
        if (stopped) return;
        const claimed = await Outbox.findOneAndUpdate(
          { _id: doc._id, status: doc.status, nextAttemptAt: doc.nextAttemptAt },
          { $set: { status: 'sending', nextAttemptAt: new Date() } },
          { new: true },
        )
          .lean<OutboxDoc>()
          .exec();
        if (!claimed) continue; // another instance has it
        try {
          await transport.sendMail({ from: deps.from, to: claimed.to, subject: claimed.subject, text: claimed.text });
          await Outbox.deleteOne({ _id: claimed._id }).exec();
        } catch (err) {
          const attempts = (claimed.attempts ?? 0) + 1;
          if (attempts >= MAX_DELIVERY_ATTEMPTS) {
            deps.logger.error({ outboxId: claimed._id, attempts, err: errSummary(err) }, 'message undeliverable: dropped');
            await Outbox.deleteOne({ _id: claimed._id }).exec();
          } else {
            deps.logger.warn({ outboxId: claimed._id, attempts, err: errSummary(err) }, 'message delivery failed: will retry');
            await Outbox.updateOne(
              { _id: claimed._id },
              { $set: { status: 'pending', attempts, nextAttemptAt: new Date(Date.now() + 5_000 * 2 ** attempts) } },
            ).exec();
          }
        }
      }
    }
  }

  /** Runs a pass now, or right after the running one. */
  function wake(): void {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = deliverDue()
      .catch((err: unknown) => deps.logger.error({ err: errSummary(err) }, 'outbox pass failed; retried at the next pass'))
      .finally(() => {
        running = undefined;
        if (again) {
          again = false;
          wake();
        }
      });
  }

  const timer = setInterval(wake, deps.pollMs ?? 10_000);
  timer.unref();
  wake();
  return {
    wake,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
      transport.close();
    },
  };
}
