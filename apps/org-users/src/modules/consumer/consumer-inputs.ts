import { z } from 'zod';
import { DomainError } from '@usergraph/service-kit';
import {
  addressInputSchema,
  badUserInputMessage,
  dateInputSchema,
  emailSchema,
  human,
  isValidRegionCode,
  nameInputSchema,
  nationalIdSchema,
  objectIdSchema,
  phoneSchema,
  rule,
  singleLineText,
  slugSchema,
  validate,
  visitorIdSchema,
  type CountryCode,
} from '@usergraph/validation';
import { pageArgsShape } from '../../pagination.js';

/** Validates `raw`, or throws BAD_USER_INPUT naming every bad field under `basePath` (e.g. "input.email"). */
export function parseInput<S extends z.ZodType>(schema: S, raw: unknown, basePath: string[]): z.output<S> {
  const checked = validate(schema, raw, basePath);
  if (!checked.ok) throw new DomainError('BAD_USER_INPUT', badUserInputMessage(checked.errors), checked.errors);
  return checked.value;
}

/**
 * A has no region field, so a phone number is read in international format
 * ("+1 415 555 2671"). When the address names an ISO country (`alpha2`), a
 * national number is read in that country instead, as a person filling in a
 * US address would type "(415) 555-2671".
 */
function phoneRegionOf(raw: unknown): CountryCode | undefined {
  const alpha2 = (raw as { address?: { alpha2?: unknown } | null } | null)?.address?.alpha2;
  if (typeof alpha2 !== 'string') return undefined;
  const code = alpha2.trim().toUpperCase();
  return isValidRegionCode(code) ? code : undefined;
}

/** A's RegisterOrganizationUserInput; the phone schema depends on the address given. */
export const registerOrganizationUserSchema = (raw: unknown) =>
  z.strictObject(
    {
      organizationSlug: slugSchema,
      email: emailSchema,
      phoneNumber: phoneSchema(phoneRegionOf(raw)),
      name: nameInputSchema,
      address: addressInputSchema,
      dateOfBirth: dateInputSchema,
      nationalId: nationalIdSchema.nullish(),
      visitorID: visitorIdSchema.nullish(),
    },
    human,
  );

export type RegisterOrganizationUserInput = z.output<ReturnType<typeof registerOrganizationUserSchema>>;

/** User ids are opaque strings; one that is not in the caller's organization is NOT_FOUND. */
export const userIdSchema = singleLineText({ max: 64 });

export const CONNECTION_STATUSES = ['PENDING', 'ACTIVE', 'ERROR', 'DISCONNECTED'] as const;
export const TRADELINE_STATUSES = ['OPEN', 'CLOSED', 'DELINQUENT'] as const;
export type ConnectionStatus = (typeof CONNECTION_STATUSES)[number];
export type TradelineStatus = (typeof TRADELINE_STATUSES)[number];

const institutionNameSchema = singleLineText({ max: 200 });

/** "credit card" and "Credit-Card" are the same type: CREDIT_CARD. */
const accountTypeSchema = singleLineText({ max: 50 })
  .overwrite((s) => s.toUpperCase().replace(/[\s-]+/g, '_'))
  .check(rule((s) => /^[A-Z][A-Z0-9_]*$/.test(s), 'must be a code of letters, digits and underscores, such as CREDIT_CARD'));

const DECIMAL = /^-?\d{1,15}(\.\d{1,4})?$/;
/** A decimal string, kept as text so no amount is ever rounded; leading zeros and "-0" are normalized away. */
const amountSchema = singleLineText({ max: 21 })
  .check(rule((s) => DECIMAL.test(s), 'must be a decimal number such as 1234.56, with at most 4 decimals'))
  .overwrite((s) => {
    const negative = s.startsWith('-') && /[1-9]/.test(s);
    const [whole = '0', fraction] = s.replace(/^-/, '').split('.');
    return `${negative ? '-' : ''}${whole.replace(/^0+(?=\d)/, '')}${fraction === undefined ? '' : `.${fraction}`}`;
  });

const CURRENCIES = new Set(Intl.supportedValuesOf('currency'));
const currencySchema = singleLineText({ min: 3, max: 3 })
  .overwrite((s) => s.toUpperCase())
  .check(rule((s) => CURRENCIES.has(s), 'is not an ISO 4217 currency code'));

/** An empty list filters nothing out, like an absent one. */
const filterList = <T extends z.ZodType>(item: T) =>
  z
    .array(item)
    .max(20)
    .nullish()
    .transform((list) => (list && list.length > 0 ? list : undefined));

export const connectionsInputSchema = z.strictObject(
  { ...pageArgsShape, status: filterList(z.enum(CONNECTION_STATUSES)), institutionName: institutionNameSchema.nullish() },
  human,
);

export const tradelinesInputSchema = z.strictObject(
  { ...pageArgsShape, connectionId: objectIdSchema.nullish(), accountType: filterList(accountTypeSchema) },
  human,
);

export const recordConnectionSchema = z.strictObject(
  {
    userId: userIdSchema,
    institutionName: institutionNameSchema,
    status: z
      .enum(CONNECTION_STATUSES)
      .nullish()
      .transform((s) => s ?? 'ACTIVE'),
  },
  human,
);

export const recordTradelineSchema = z.strictObject(
  {
    userId: userIdSchema,
    connectionId: objectIdSchema,
    accountType: accountTypeSchema,
    creditorName: singleLineText({ max: 200 }),
    balanceAmount: amountSchema,
    currency: currencySchema,
    openedOn: dateInputSchema.nullish(),
    status: z
      .enum(TRADELINE_STATUSES)
      .nullish()
      .transform((s) => s ?? 'OPEN'),
  },
  human,
);

/** A legal agreement version such as "2024-06" or "v3.1": visible ASCII only. */
export const agreementVersionSchema = singleLineText({ max: 50 }).check(
  rule((s) => /^[\x21-\x7e]+$/.test(s), 'must contain only visible ASCII characters, without spaces'),
);

export const notificationPreferencesSchema = z
  .strictObject({ email: z.boolean().nullish(), sms: z.boolean().nullish(), push: z.boolean().nullish() }, human)
  .transform(
    (p) =>
      Object.fromEntries(Object.entries(p).filter(([, v]) => typeof v === 'boolean')) as Partial<Record<'email' | 'sms' | 'push', boolean>>,
  );
