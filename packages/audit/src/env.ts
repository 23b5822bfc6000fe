import { z } from 'zod';

/** Every service that relays audit events (identity, licensing, org-users). */
export const auditRelayEnv = z.object({
  /**
   * Seconds between the relay's passes over the outboxes: they pick up what a crash or an unavailable
   * org-users left behind (every write also starts a pass at once, not awaited).
   */
  AUDIT_RELAY_INTERVAL_SECONDS: z.coerce.number().positive().max(3600).default(30),
  /**
   * Refused administrative mutations recorded per caller and service each minute (outcome `refused`);
   * further refusals in that minute are counted in a warning, not recorded, so a loop cannot flood the log.
   */
  AUDIT_REFUSED_PER_MINUTE: z.coerce.number().int().min(0).max(10_000).default(20),
});

/** Tests only (FAULT_INJECTION): the service crashes after a write that carries an event, before its relay runs. */
export const AUDIT_FAULT_POINTS = ['audit:before-relay'] as const;
