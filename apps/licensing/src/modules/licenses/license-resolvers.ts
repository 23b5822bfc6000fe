import DataLoader from 'dataloader';
import type { RequestContext } from '@usergraph/service-kit';
import type { LicenseService, UserLicensesDto } from './license-service.js';

const loaders = new WeakMap<RequestContext, DataLoader<string, UserLicensesDto | undefined>>();

export function createLicenseResolvers(deps: { licenses: LicenseService }) {
  function loaderFor(ctx: RequestContext) {
    let loader = loaders.get(ctx);
    if (!loader) {
      loader = new DataLoader(async (ids) => {
        const found = await deps.licenses.forUsers(ctx.caller, ids);
        return ids.map((id) => found.get(id));
      });
      loaders.set(ctx, loader);
    }
    return loader;
  }
  return {
    User: {
      __resolveReference: (ref: { id: string }, ctx: RequestContext) => loaderFor(ctx).load(ref.id),
    },
  };
}
