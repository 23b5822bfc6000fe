import type { RequestContext } from '@usergraph/service-kit';
import type { PasswordService } from './password-service.js';

export function createPasswordResolvers(deps: { passwords: PasswordService }) {
  return {
    Mutation: {
      changePassword: (_: unknown, args: unknown, ctx: RequestContext) => deps.passwords.change(ctx.caller, args, ctx),
      requestPasswordReset: (_: unknown, args: unknown, ctx: RequestContext) => deps.passwords.requestReset(args, ctx),
      resetPassword: (_: unknown, args: unknown, ctx: RequestContext) => deps.passwords.reset(args, ctx),
    },
  };
}
