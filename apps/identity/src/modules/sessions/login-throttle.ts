import { Schema, type Connection } from 'mongoose';
import { DomainError } from '@usergraph/service-kit';

interface ThrottleDoc {
  /** `identifier:<orgId>:<identifier>` or `ip:<address>`. */
  _id: string;
  failures: number;
  windowStartedAt: Date;
  lockedUntil?: Date;
}

const throttleSchema = new Schema<ThrottleDoc>(
  { _id: String, failures: Number, windowStartedAt: Date, lockedUntil: Date },
  { versionKey: false, collection: 'login_throttle' },
);

export interface ThrottleLimits {
  maxFailuresPerIdentifier: number;
  maxFailuresPerIp: number;
  windowMs: number;
  lockoutMs: number;
}

/**
 * Failed-login limits per identifier and per client IP, kept in the database
 * so a restart does not reset them. After too many failures within the
 * window, the key is locked for `lockoutMs`. Unknown identifiers are counted
 * like known ones, so the lockout reveals nothing about which accounts exist.
 */
export function createLoginThrottle(conn: Connection, limits: ThrottleLimits) {
  const Throttle = conn.model<ThrottleDoc>('LoginThrottle', throttleSchema);
  const keysOf = (organizationId: string, identifier: string, ip: string) => ({
    identifier: `identifier:${organizationId}:${identifier.trim().toLowerCase()}`,
    ip: `ip:${ip}`,
  });

  async function assertNotLocked(organizationId: string, identifier: string, ip: string, now = new Date()): Promise<void> {
    const keys = keysOf(organizationId, identifier, ip);
    // Two `_id` reads, not one `$in`: the embedded store answers `_id: { $in }` by decoding every document.
    const docs = await Promise.all([keys.identifier, keys.ip].map((_id) => Throttle.findOne({ _id }).lean<ThrottleDoc>().exec()));
    const locked = docs.filter((d): d is ThrottleDoc => d?.lockedUntil !== undefined && d.lockedUntil > now);
    if (locked.length === 0) return;
    const until = Math.max(...locked.map((d) => d.lockedUntil!.getTime()));
    const minutes = Math.ceil((until - now.getTime()) / 60_000);
    throw new DomainError('RATE_LIMITED', `Too many failed sign-in attempts; try again in ${minutes} minute${minutes === 1 ? '' : 's'}`);
  }

  async function countFailure(key: string, max: number, now: Date): Promise<void> {
    const windowStart = new Date(now.getTime() - limits.windowMs);
    // Conditional on the window (and keyed by `_id`): counts only within a live window.
    let doc = await Throttle.findOneAndUpdate({ _id: key, windowStartedAt: { $gt: windowStart } }, { $inc: { failures: 1 } }, { new: true })
      .lean<ThrottleDoc>()
      .exec();
    // No live window: start a new one.
    doc ??= await Throttle.findOneAndUpdate({ _id: key }, { $set: { failures: 1, windowStartedAt: now }, $unset: { lockedUntil: 1 } }, { upsert: true, new: true })
      .lean<ThrottleDoc>()
      .exec();
    if (doc && doc.failures >= max) {
      await Throttle.updateOne({ _id: key }, { $set: { lockedUntil: new Date(now.getTime() + limits.lockoutMs), failures: 0, windowStartedAt: now } }).exec();
    }
  }

  async function recordFailure(organizationId: string, identifier: string, ip: string, now = new Date()): Promise<void> {
    const keys = keysOf(organizationId, identifier, ip);
    await countFailure(keys.identifier, limits.maxFailuresPerIdentifier, now);
    await countFailure(keys.ip, limits.maxFailuresPerIp, now);
  }

  async function recordSuccess(organizationId: string, identifier: string, ip: string): Promise<void> {
    await Throttle.deleteOne({ _id: keysOf(organizationId, identifier, ip).identifier }).exec();
  }

  return { assertNotLocked, recordFailure, recordSuccess };
}

export type LoginThrottle = ReturnType<typeof createLoginThrottle>;
