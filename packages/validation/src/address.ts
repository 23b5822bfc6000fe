import { z } from 'zod';
import { human } from './error-map.js';
import { isIsoCountryCode } from './region-codes.js';
import { rule, singleLineText } from './text.js';

// B's AddressInput. Every field is optional and may be null (GraphQL's "no
// value"); free-text fields may be empty, coded fields must be well-formed.
// Strict, so a client cannot smuggle extra fields into the stored document.

const ADDRESS_FIELD_MAX_LENGTH = 200;

const freeText = (max = ADDRESS_FIELD_MAX_LENGTH) => singleLineText({ min: 0, max }).nullish();

const coded = (min: number, max: number, pattern: RegExp, message: string) =>
  singleLineText({ min, max }).check(rule((s) => pattern.test(s), message));

/** A MongoDB ObjectId in hex, lower-cased. */
export const objectIdSchema = coded(24, 24, /^[0-9a-fA-F]{24}$/, 'must be 24 hexadecimal characters').overwrite((s) => s.toLowerCase());

/** An officially assigned ISO 3166-1 alpha-2 country code, accepted in any case, output upper case. */
export const countryCodeSchema = singleLineText({ min: 2, max: 2 })
  .overwrite((s) => s.toUpperCase())
  .check(rule(isIsoCountryCode, 'is not an ISO 3166-1 alpha-2 country code'));

export const addressInputSchema = z.strictObject(
  {
    _id: objectIdSchema.nullish(),
    description: freeText(),
    firstName: freeText(),
    lastName: freeText(),
    addressLine1: freeText(),
    addressLine2: freeText(),
    streetNumber: freeText(),
    city: freeText(),
    state: freeText(),
    stateCode: coded(1, 3, /^[A-Za-z0-9]+$/, 'must be 1 to 3 letters or digits').nullish(),
    postCode: coded(2, 12, /^[A-Za-z0-9 -]+$/, 'must contain only letters, digits, spaces and dashes').nullish(),
    country: freeText(),
    alpha2: countryCodeSchema.nullish(),
    type: freeText(50),
  },
  human,
);
