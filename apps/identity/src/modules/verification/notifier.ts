import { randomUUID } from 'node:crypto';
import { Schema, type Connection } from 'mongoose';
import nodemailer from 'nodemailer';

export interface Notification {
  to: string;
  subject: string;
  text: string;
}

/** Where verification and reset codes go: SMTP in production, the outbox in development. */
export interface Notifier {
  send(notification: Notification): Promise<void>;
}

interface OutboxDoc extends Notification {
  _id: string;
  organizationId: string;
  createdAt: Date;
}

const outboxSchema = new Schema<OutboxDoc>(
  { _id: String, organizationId: String, to: String, subject: String, text: String, createdAt: Date },
  { versionKey: false, collection: 'outbox' },
);

/**
 * Development notifier: messages are stored in the identity database and read
 * with `npm run usergraph -- outbox`. Nothing leaves the machine.
 */
export function createOutboxNotifier(conn: Connection, organizationId = '') {
  const Outbox = conn.model<OutboxDoc>('Outbox', outboxSchema);
  return {
    async send(n: Notification) {
      await Outbox.create({ _id: randomUUID(), organizationId, ...n, createdAt: new Date() });
    },
    /** The newest messages first; optionally only those sent to one address. */
    list: (opts: { to?: string; limit: number }) =>
      Outbox.find(opts.to ? { to: opts.to } : {}).sort({ createdAt: -1 }).limit(opts.limit).lean<OutboxDoc[]>().exec(),
  };
}

export type OutboxNotifier = ReturnType<typeof createOutboxNotifier>;

export function createSmtpNotifier(smtpUrl: string, from: string): Notifier {
  const transport = nodemailer.createTransport(smtpUrl);
  return {
    async send(n) {
      await transport.sendMail({ from, to: n.to, subject: n.subject, text: n.text });
    },
  };
}
