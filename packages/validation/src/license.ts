import { z } from 'zod';
import { human } from './error-map.js';

export const LICENSE_TYPES = ['VIEWER', 'AUTHOR', 'ANALYST', 'ADMIN'] as const;
export type LicenseType = (typeof LICENSE_TYPES)[number];

export const licenseTypeSchema = z.enum(LICENSE_TYPES, human);

const MAX_LICENSES = LICENSE_TYPES.length;

/**
 * The licenses held by one user: no repeats, and AUTHOR already includes
 * everything VIEWER grants, so holding both would double-bill a seat.
 * The size is checked before the entries, so a huge array costs one message.
 */
export const licenseSetSchema = z
  .array(z.unknown(), human)
  .check((ctx) => {
    if (ctx.value.length > MAX_LICENSES) {
      ctx.issues.push({ code: 'too_big', origin: 'array', maximum: MAX_LICENSES, inclusive: true, input: ctx.value, continue: false });
    }
  })
  .pipe(z.array(licenseTypeSchema, human))
  .check((ctx) => {
    const set = new Set(ctx.value);
    if (set.size !== ctx.value.length) {
      ctx.issues.push({ code: 'custom', message: 'must not contain the same license twice', input: ctx.value, continue: false });
    }
    // Every broken rule is reported (D lists them all), not only the first.
    if (set.has('AUTHOR') && set.has('VIEWER')) {
      ctx.issues.push({ code: 'custom', message: 'cannot combine AUTHOR and VIEWER', input: ctx.value, continue: false });
    }
  });
