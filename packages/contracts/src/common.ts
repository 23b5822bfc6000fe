import { z } from 'zod';

/** An organization, user or session id as the services store it. */
export const id = z.string().min(1).max(64);

/** The reconciliation job's input: records younger than this are left alone (they may be mid-write). */
export const reconcileInput = z.object({
  minAgeSeconds: z
    .number()
    .int()
    .min(0)
    .max(86_400 * 30),
});

/** A failed rule, at the caller's field path. */
export const fieldIssue = z.object({ path: z.array(z.string()), message: z.string() });
