// @usergraph/validation: the zod schemas shared by the subgraphs, and the
// mapping from zod issues to each API dialect's field errors.

export { describeType, human, humanErrorMap, humanMessage } from './error-map.js';
export {
  CONTROL_CHARACTERS,
  LONE_SURROGATE,
  codePointLength,
  lengthBetween,
  noControlCharacters,
  rule,
  singleLineText,
  type TextOptions,
  wellFormedText,
} from './text.js';

export { EMAIL_MAX_LENGTH, emailSchema, normalizeEmail } from './email.js';
export { PHONE_MAX_LENGTH, isValidRegionCode, parsePhone, phoneSchema, type CountryCode, type ParsedPhone } from './phone.js';
export { ISO_COUNTRY_CODES, isIsoCountryCode } from './region-codes.js';
export { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, isCommonPassword, passwordSchema } from './password.js';
export { normalizeUsername, usernameSchema } from './username.js';
export { nameInputSchema, personNameSchema } from './person-name.js';
export { slugSchema } from './slug.js';
export { addressInputSchema, countryCodeSchema, objectIdSchema } from './address.js';
export { MIN_YEAR, ageOn, dateInputSchema, daysInMonth, formatIsoDate, isoDateStringSchema, latestDateOnEarth } from './date.js';
export { last4, nationalIdSchema } from './national-id.js';
export { groupNameSchema } from './group-name.js';
export { LICENSE_TYPES, licenseSetSchema, licenseTypeSchema, type LicenseType } from './license.js';
export { visitorIdSchema } from './visitor-id.js';
export { taxNumberSchema } from './tax-number.js';
export { jobTitleSchema, organisationNameSchema } from './organisation.js';
export { PERMISSIONS, permissionSchema, type Permission } from './permission.js';

export { fieldErrorsFromZod, fieldNameOf, validate, type FieldError, type ValidationResult } from './field-errors.js';
export {
  BAD_USER_INPUT,
  badUserInputExtensions,
  badUserInputMessage,
  type BadUserInputExtensions,
  type BadUserInputField,
} from './graphql-errors.js';
export { humanizeFieldName, toPayloadErrors, type PayloadError } from './payload-errors.js';
