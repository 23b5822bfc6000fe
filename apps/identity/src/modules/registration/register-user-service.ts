import type { AuditOrigin, RefusalAudit } from '@usergraph/audit';
import { Types } from 'mongoose';
import { ageOn, emailSchema, isoDateStringSchema, isValidRegionCode, parsePhone, personNameSchema } from '@usergraph/validation';
import { DomainError, unauthenticated, type Caller, type Logger } from '@usergraph/service-kit';
import { createUser, type SagaOptions } from '@usergraph/user-lifecycle';
import { remoteProfile, type OrgUsersClient } from '../../clients.js';
import type { ApplicationService } from '../applications/application-service.js';

/** C's codes: the six of the seed, then ours for other invalid input (listed in the README). */
export const C_CODES = {
  INVALID_PHONE: { code: 'AUTH-0004', message: 'Invalid phone number' },
  NOT_ALLOWED: { code: 'AUTH-0022', message: 'Registration not allowed, please contact customer support!' },
  GENERAL: { code: 'AUTH-0025', message: 'Please try again or contact support.' },
  PHONE_IN_USE: { code: 'AUTH-0026', message: 'The phone number you chose is already in use.' },
  EMAIL_IN_USE: { code: 'AUTH-0027', message: 'The email address you chose is already in use.' },
  APP_INACTIVE: { code: 'AUTH-0030', message: 'Your application is not active.' },
  INVALID_EMAIL: { code: 'AUTH-0040', message: 'emailAddress is not a valid email address' },
  INVALID_FIRST_NAME: { code: 'AUTH-0041', message: 'firstName is not a valid name' },
  INVALID_LAST_NAME: { code: 'AUTH-0042', message: 'lastName is not a valid name' },
  INVALID_DATE_OF_BIRTH: { code: 'AUTH-0043', message: 'dateOfBirth must be a real past date in YYYY-MM-DD format' },
  UNDER_MINIMUM_AGE: { code: 'AUTH-0044', message: 'dateOfBirth is below the minimum age' },
  INVALID_REGION: { code: 'AUTH-0045', message: 'regionCode is not a supported ISO 3166-1 alpha-2 country code' },
} as const;

export type RegisterUserResult = { success: true; error: null } | { success: false; error: { code: string; message: string } };

const fail = (e: { code: string; message: string }): RegisterUserResult => ({ success: false, error: { ...e } });

export interface RegisterUserArgs {
  firstName: unknown;
  lastName: unknown;
  phoneNumber: unknown;
  regionCode: unknown;
  emailAddress: unknown;
  dateOfBirth: unknown;
}

export function createRegisterUserService(deps: {
  applications: ApplicationService;
  orgUsers: OrgUsersClient;
  /** Records an authorization refusal (packages/audit's createRefusalAudit, within the caller's budget). */
  refused: RefusalAudit['refused'];
  minimumAge: number;
  onUnexpectedError: (err: unknown) => void;
  logger: Pick<Logger, 'error'>;
  faults?: SagaOptions['faults'];
  now?: () => Date;
}) {
  const now = deps.now ?? (() => new Date());

  /** The checks of C, in a fixed order; only the first failure is reported, as C returns one error. */
  type Checked =
    | { error: { code: string; message: string }; value?: undefined }
    | { error?: undefined; value: { firstName: string; lastName: string; phone: string; email: string; dateOfBirth: string } };

  function check(args: RegisterUserArgs): Checked {
    const firstName = personNameSchema.safeParse(args.firstName);
    if (!firstName.success) return { error: C_CODES.INVALID_FIRST_NAME };
    const lastName = personNameSchema.safeParse(args.lastName);
    if (!lastName.success) return { error: C_CODES.INVALID_LAST_NAME };
    const region = typeof args.regionCode === 'string' ? args.regionCode.trim().toUpperCase() : '';
    if (!isValidRegionCode(region)) return { error: C_CODES.INVALID_REGION };
    // C accepts digits and dashes ("5551234567" or "555-123-4567"), and we accept common punctuation too.
    const phone =
      typeof args.phoneNumber === 'string' && args.phoneNumber.length <= 32 ? parsePhone(args.phoneNumber, region) : { ok: false as const };
    if (!phone.ok) return { error: C_CODES.INVALID_PHONE };
    const email = emailSchema.safeParse(args.emailAddress);
    if (!email.success) return { error: C_CODES.INVALID_EMAIL };
    const dob = isoDateStringSchema.safeParse(args.dateOfBirth);
    if (!dob.success) return { error: C_CODES.INVALID_DATE_OF_BIRTH };
    if (ageOn(dob.data, now()) < deps.minimumAge) return { error: C_CODES.UNDER_MINIMUM_AGE };
    return { value: { firstName: firstName.data, lastName: lastName.data, phone: phone.e164, email: email.data, dateOfBirth: dob.data } };
  }

  /**
   * `origin`: who acts, built only for a caller the application check let through (or for a refusal
   * within its budget), so a refused caller costs no licensing call beyond that budget.
   */
  async function registerUser(caller: Caller, args: RegisterUserArgs, origin: () => Promise<AuditOrigin>): Promise<RegisterUserResult> {
    if (caller.kind === 'anonymous') throw unauthenticated('registerUser needs an application access token');
    // Refused for authorization (a user's token, an application without users:register): a refused user.created, answered in C's payload.
    const notAllowed = async (): Promise<RegisterUserResult> => {
      await deps.refused({ caller, origin }, caller.organizationId, 'user.created', { type: 'organization', id: caller.organizationId });
      return fail(C_CODES.NOT_ALLOWED);
    };
    if (caller.kind !== 'application') return notAllowed();
    // Checked live, not from the token: a deactivated application stops at once.
    const app = await deps.applications.get(caller.clientId);
    if (app?.organizationId !== caller.organizationId) return notAllowed();
    if (app.status !== 'ACTIVE') return fail(C_CODES.APP_INACTIVE);
    if (!app.permissions.includes('users:register') || !caller.permissions.has('users:register')) return notAllowed();

    const checked = check(args);
    if (checked.error) return fail(checked.error);
    const { value } = checked;
    const organizationId = app.organizationId;
    const audit = await origin();
    try {
      // The creation saga with the profile as its only step: C registers no credentials or licenses.
      await createUser(
        { organizationId, userId: new Types.ObjectId().toHexString() },
        remoteProfile(deps.orgUsers, {
          organizationId,
          email: value.email,
          phoneNumber: value.phone,
          firstName: value.firstName,
          lastName: value.lastName,
          dateOfBirth: value.dateOfBirth,
          status: 'ACTIVE',
          audit,
        }),
        { logger: deps.logger, faults: deps.faults },
      );
      return { success: true, error: null };
    } catch (err) {
      if (err instanceof DomainError && err.dialectCode === C_CODES.EMAIL_IN_USE.code) return fail(C_CODES.EMAIL_IN_USE);
      if (err instanceof DomainError && err.dialectCode === C_CODES.PHONE_IN_USE.code) return fail(C_CODES.PHONE_IN_USE);
      // Anything else, a database outage included, is C's general "try again".
      deps.onUnexpectedError(err);
      return fail(C_CODES.GENERAL);
    }
  }

  return { registerUser };
}

export type RegisterUserService = ReturnType<typeof createRegisterUserService>;
