import { Schema, type Connection } from 'mongoose';
import type { LicenseType } from '@usergraph/validation';
import type { AuditEvent } from '@usergraph/audit';

/**
 * One document per organization holding its seat counters. Every change to
 * a count is a conditional single-document update on it, which is how seats
 * and the last-ADMIN invariant hold without transactions:
 * - `used.ADMIN` counts company admins (support admins are not counted), and
 *   is only ever decremented with the condition `used.ADMIN > 1`;
 * - for a capped license, `free.X` is decremented with the condition `free.X > 0`.
 */
export interface LicenseStateDoc {
  _id: string; // organization id
  used: Partial<Record<LicenseType, number>>;
  /** Seats left, present only for capped licenses. */
  free: Partial<Record<LicenseType, number>>;
  caps: Partial<Record<LicenseType, number>>;
  /** Audit events of seat-cap changes, until the relay moves them to org-users' log. */
  auditOutbox?: AuditEvent[];
}

const stateSchema = new Schema<LicenseStateDoc>(
  {
    _id: String,
    used: { type: Object, default: {} },
    free: { type: Object, default: {} },
    caps: { type: Object, default: {} },
    auditOutbox: { type: [Schema.Types.Mixed], default: undefined },
  },
  { versionKey: false, collection: 'license_state', minimize: false },
);

export function createLicenseStateRepository(conn: Connection) {
  const State = conn.model<LicenseStateDoc>('LicenseState', stateSchema);

  async function get(organizationId: string): Promise<LicenseStateDoc> {
    const existing = await State.findById(organizationId).lean<LicenseStateDoc>().exec();
    if (existing) return existing;
    try {
      // Every counter starts at 0, so conditions can compare against a number.
      await State.create({ _id: organizationId, used: { VIEWER: 0, AUTHOR: 0, ANALYST: 0, ADMIN: 0 }, free: {}, caps: {} });
    } catch (err) {
      if ((err as { code?: number }).code !== 11000) throw err;
    }
    return (await State.findById(organizationId).lean<LicenseStateDoc>().exec())!;
  }

  return {
    get,
    /** Takes one seat; false when the license is capped and no seat is free. */
    async take(organizationId: string, license: LicenseType): Promise<boolean> {
      const state = await get(organizationId);
      const capped = state.caps[license] !== undefined;
      const filter = capped ? { _id: organizationId, [`free.${license}`]: { $gt: 0 } } : { _id: organizationId };
      const inc = capped ? { [`used.${license}`]: 1, [`free.${license}`]: -1 } : { [`used.${license}`]: 1 };
      const result = await State.updateOne(filter, { $inc: inc }).exec();
      return result.modifiedCount === 1;
    },
    /**
     * Gives one seat back. For ADMIN the update only happens while more than
     * one company admin remains: false means "this is the last ADMIN".
     */
    async give(organizationId: string, license: LicenseType): Promise<boolean> {
      const state = await get(organizationId);
      const capped = state.caps[license] !== undefined;
      const filter: Record<string, unknown> = { _id: organizationId };
      filter[`used.${license}`] = { $gt: license === 'ADMIN' ? 1 : 0 };
      const inc = capped ? { [`used.${license}`]: -1, [`free.${license}`]: 1 } : { [`used.${license}`]: -1 };
      const result = await State.updateOne(filter, { $inc: inc }).exec();
      return result.modifiedCount === 1;
    },
    /** Unconditional adjustment, only to undo a take or give that a later step could not complete. */
    async adjust(organizationId: string, license: LicenseType, delta: 1 | -1): Promise<void> {
      const state = await get(organizationId);
      const capped = state.caps[license] !== undefined;
      const inc = capped ? { [`used.${license}`]: delta, [`free.${license}`]: -delta } : { [`used.${license}`]: delta };
      await State.updateOne({ _id: organizationId }, { $inc: inc }).exec();
    },
    /** Maintenance (repair): the next `limit` organizations' states after `afterId`, in `_id` order. */
    pageAll: (afterId: string, limit: number) =>
      State.find({ _id: { $gt: afterId } })
        .sort({ _id: 1 })
        .limit(limit)
        .lean<LicenseStateDoc[]>()
        .exec(),
    /**
     * Repair: sets `used.<license>` (and, when capped, `free` = cap - used)
     * only while the counter and the cap are still what the caller read, so
     * a live take or give in between is never lost. False: it moved.
     */
    async setUsedIf(organizationId: string, license: LicenseType, read: LicenseStateDoc, to: number): Promise<boolean> {
      const from = read.used[license];
      const cap = read.caps[license];
      const filter: Record<string, unknown> = { _id: organizationId, [`used.${license}`]: from ?? { $exists: false } };
      filter[`caps.${license}`] = cap ?? { $exists: false };
      const set = cap === undefined ? { [`used.${license}`]: to } : { [`used.${license}`]: to, [`free.${license}`]: cap - to };
      const result = await State.updateOne(filter, { $set: set }).exec();
      return result.modifiedCount === 1;
    },
    /** Sets (or with null removes) a cap; fails if more seats are in use than the new cap. */
    /** With its audit event in the same atomic write. */
    async setCap(organizationId: string, license: LicenseType, cap: number | null, event: AuditEvent): Promise<LicenseStateDoc | null> {
      await get(organizationId);
      if (cap === null) {
        return State.findOneAndUpdate(
          { _id: organizationId },
          { $unset: { [`caps.${license}`]: 1, [`free.${license}`]: 1 }, $push: { auditOutbox: event } },
          { new: true },
        )
          .lean<LicenseStateDoc>()
          .exec();
      }
      // Conditional on the count it was computed from, so a concurrent assignment cannot slip past the new cap.
      for (let attempt = 0; attempt < 20; attempt++) {
        const state = await get(organizationId);
        const used = state.used[license] ?? 0;
        if (used > cap) return null;
        const updated = await State.findOneAndUpdate(
          { _id: organizationId, [`used.${license}`]: used },
          { $set: { [`caps.${license}`]: cap, [`free.${license}`]: cap - used }, $push: { auditOutbox: event } },
          { new: true },
        )
          .lean<LicenseStateDoc>()
          .exec();
        if (updated) return updated;
      }
      throw new Error('seat cap could not be set under contention');
    },
  };
}

export type LicenseStateRepository = ReturnType<typeof createLicenseStateRepository>;
