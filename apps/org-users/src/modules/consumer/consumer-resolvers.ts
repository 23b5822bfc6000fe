import type { AccountService } from './account-service.js';
import type { FinancialDataService } from './financial-data-service.js';
import type { ConsumerRegistration } from './registration-service.js';
import type { AccessPolicy } from '../../access-policy.js';
import type { Resolvers, UserResolvers } from '../../generated/resolvers-types.js';

export function createConsumerResolvers(deps: {
  registration: ConsumerRegistration;
  accounts: AccountService;
  financialData: FinancialDataService;
  /** Who acts, as the audit log names them (a support admin told apart): access-policy.ts. */
  auditOrigin: AccessPolicy['auditOrigin'];
}): Resolvers {
  const origin = deps.auditOrigin;
  const connections: UserResolvers['connections'] = (u, args) => deps.financialData.connectionsOf(u, args.input);

  return {
    Query: {
      organizationUser: (_, args, ctx) => deps.financialData.organizationUser(ctx.caller, args.id),
    },
    Mutation: {
      registerOrganizationUser: async (_, args, ctx) => ({
        user: await deps.registration.registerOrganizationUser(ctx.caller, args.input, ctx.headers.idempotencyKey, await origin(ctx)),
      }),
      recordConnection: async (_, args, ctx) => deps.financialData.recordConnection(ctx.caller, args.input, await origin(ctx)),
      recordTradeline: async (_, args, ctx) => deps.financialData.recordTradeline(ctx.caller, args.input, await origin(ctx)),
      markUserSynced: async (_, args, ctx) => deps.accounts.markUserSynced(ctx.caller, args.userId, await origin(ctx)),
      acceptLegalAgreement: async (_, args, ctx) => deps.accounts.acceptLegalAgreement(ctx.caller, args, await origin(ctx)),
      updateNotificationPreferences: async (_, args, ctx) =>
        deps.accounts.updateNotificationPreferences(ctx.caller, args, await origin(ctx)),
      closeAccount: async (_, args, ctx) => deps.accounts.closeAccount(ctx.caller, args, await origin(ctx)),
    },
    User: {
      connections,
      /** A's example spells it `connection`. */
      connection: connections,
      tradelines: (u, args) => deps.financialData.tradelinesOf(u, args.input),
    },
  };
}
