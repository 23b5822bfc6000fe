import type { Resolvers } from '../../generated/resolvers-types.js';
import type { WebhookService } from './webhook-service.js';

export function createWebhookResolvers(deps: { webhooks: WebhookService }): Resolvers {
  const { webhooks } = deps;
  return {
    Query: {
      webhookEndpoints: (_, __, ctx) => webhooks.list(ctx.caller),
      webhookDeliveries: (_, args, ctx) => webhooks.deliveries(ctx.caller, args.endpointId, args.first),
    },
    Mutation: {
      createWebhookEndpoint: (_, args, ctx) => webhooks.create(ctx.caller, args, ctx),
      disableWebhookEndpoint: (_, args, ctx) => webhooks.setStatus(ctx.caller, args.id, 'DISABLED', ctx),
      enableWebhookEndpoint: (_, args, ctx) => webhooks.setStatus(ctx.caller, args.id, 'ENABLED', ctx),
      rotateWebhookEndpointSecret: (_, args, ctx) => webhooks.rotateSecret(ctx.caller, args.id, ctx),
      redeliverWebhookEvent: (_, args, ctx) => webhooks.redeliver(ctx.caller, args, ctx),
    },
  };
}
