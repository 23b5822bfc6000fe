import { Schema, type Connection } from 'mongoose';

export type CodePurpose = 'email-verification' | 'password-reset';

export interface VerificationCodeDoc {
  /** `<purpose>:<organizationId>:<userId>`: one live code per user and purpose. */
  _id: string;
  organizationId: string;
  userId: string;
  purpose: CodePurpose;
  /** HMAC-SHA256 of the code: six digits are too few for a plain hash. */
  codeHash: string;
  attempts: number;
  expiresAt: Date;
  createdAt: Date;
}

const codeSchema = new Schema<VerificationCodeDoc>(
  {
    _id: String,
    organizationId: { type: String, required: true },
    userId: { type: String, required: true },
    purpose: { type: String, required: true },
    codeHash: { type: String, required: true },
    attempts: { type: Number, required: true },
    expiresAt: { type: Date, required: true },
    createdAt: { type: Date, required: true },
  },
  { versionKey: false, collection: 'verification_codes' },
);

export const codeId = (purpose: CodePurpose, organizationId: string, userId: string) => `${purpose}:${organizationId}:${userId}`;

export function createVerificationCodeRepository(conn: Connection) {
  const Code = conn.model<VerificationCodeDoc>('VerificationCode', codeSchema);
  return {
    /** Replaces any earlier code: only the newest one works. */
    async put(doc: VerificationCodeDoc): Promise<void> {
      await Code.replaceOne({ _id: doc._id }, doc, { upsert: true }).exec();
    },
    /**
     * Counts an attempt atomically and returns the code only while attempts
     * remain and it has not expired (checked here too: the TTL index or the
     * sweeper deletes expired codes up to a pass late). The increment is unconditional and by `_id`;
     * each caller gets its own count back, so at most `maxAttempts` callers ever
     * see a count within the limit, even concurrently.
     */
    async takeAttempt(id: string, maxAttempts: number, now: Date): Promise<VerificationCodeDoc | null> {
      const doc = await Code.findOneAndUpdate({ _id: id }, { $inc: { attempts: 1 } }, { new: true })
        .lean<VerificationCodeDoc>()
        .exec();
      return doc && doc.attempts <= maxAttempts && doc.expiresAt > now ? doc : null;
    },
    async remove(id: string): Promise<void> {
      await Code.deleteOne({ _id: id }).exec();
    },
  };
}

export type VerificationCodeRepository = ReturnType<typeof createVerificationCodeRepository>;
