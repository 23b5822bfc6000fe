import type { RequestContext } from '@usergraph/service-kit';
import type { ProfileDto } from '../users/user-service.js';
import type { AccountService } from './account-service.js';
import type { FinancialDataService } from './financial-data-service.js';
import type { ConsumerRegistration } from './registration-service.js';

type UserIdArg = { userId?: string | null };

export function createConsumerResolvers(deps: {
  registration: ConsumerRegistration;
  accounts: AccountService;
  financialData: FinancialDataService;
}) {
  const connections = (u: ProfileDto, args: { input: unknown }) =>
    deps.financialData.connectionsOf(u, args.input);

  return {
    Query: {
      organizationUser: (_: unknown, args: { id: string }, ctx: RequestContext) => deps.financialData.organizationUser(ctx.caller, args.id),
    },
    Mutation: {
      registerOrganizationUser: async (_: unknown, args: { input: unknown }, ctx: RequestContext) => ({
        user: await deps.registration.registerOrganizationUser(ctx.caller, args.input, ctx.headers.idempotencyKey),
      }),
      recordConnection: (_: unknown, args: { input: unknown }, ctx: RequestContext) => deps.financialData.recordConnection(ctx.caller, args.input),
      recordTradeline: (_: unknown, args: { input: unknown }, ctx: RequestContext) => deps.financialData.recordTradeline(ctx.caller, args.input),
      markUserSynced: (_: unknown, args: { userId: string }, ctx: RequestContext) => deps.accounts.markUserSynced(ctx.caller, args.userId),
      acceptLegalAgreement: (_: unknown, args: { version: string } & UserIdArg, ctx: RequestContext) =>
        deps.accounts.acceptLegalAgreement(ctx.caller, args),
      updateNotificationPreferences: (_: unknown, args: { input: unknown } & UserIdArg, ctx: RequestContext) =>
        deps.accounts.updateNotificationPreferences(ctx.caller, args),
      closeAccount: (_: unknown, args: UserIdArg, ctx: RequestContext) => deps.accounts.closeAccount(ctx.caller, args),
    },
    User: {
      connections,
      /** A's example spells it `connection`. */
      connection: connections,
      tradelines: (u: ProfileDto, args: { input: unknown }) => deps.financialData.tradelinesOf(u, args.input),
    },
  };
}
