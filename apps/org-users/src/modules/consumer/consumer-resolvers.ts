import { originOf } from '@usergraph/audit';
import type { AccountService } from './account-service.js';
import type { FinancialDataService } from './financial-data-service.js';
import type { ConsumerRegistration } from './registration-service.js';
import type { Resolvers, UserResolvers } from '../../generated/resolvers-types.js';

export function createConsumerResolvers(deps: {
  registration: ConsumerRegistration;
  accounts: AccountService;
  financialData: FinancialDataService;
}): Resolvers {
  const connections: UserResolvers['connections'] = (u, args) => deps.financialData.connectionsOf(u, args.input);

  return {
    Query: {
      organizationUser: (_, args, ctx) => deps.financialData.organizationUser(ctx.caller, args.id),
    },
    Mutation: {
      registerOrganizationUser: async (_, args, ctx) => ({
        user: await deps.registration.registerOrganizationUser(ctx.caller, args.input, ctx.headers.idempotencyKey, originOf(ctx)),
      }),
      recordConnection: (_, args, ctx) => deps.financialData.recordConnection(ctx.caller, args.input),
      recordTradeline: (_, args, ctx) => deps.financialData.recordTradeline(ctx.caller, args.input),
      markUserSynced: (_, args, ctx) => deps.accounts.markUserSynced(ctx.caller, args.userId),
      acceptLegalAgreement: (_, args, ctx) => deps.accounts.acceptLegalAgreement(ctx.caller, args),
      updateNotificationPreferences: (_, args, ctx) => deps.accounts.updateNotificationPreferences(ctx.caller, args),
      closeAccount: (_, args, ctx) => deps.accounts.closeAccount(ctx.caller, args, originOf(ctx)),
    },
    User: {
      connections,
      /** A's example spells it `connection`. */
      connection: connections,
      tradelines: (u, args) => deps.financialData.tradelinesOf(u, args.input),
    },
  };
}
