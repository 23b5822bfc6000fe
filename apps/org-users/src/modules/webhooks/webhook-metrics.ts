import { Counter, type Registry } from 'prom-client';
import type { WebhookCounter } from './webhook-worker.js';

/** The worker's counts as Prometheus counters on the service's registry (`METRICS_PORT`'s `/metrics`). */
export function webhookMetrics(registry: Registry): (counter: WebhookCounter) => void {
  const attempts = new Counter({
    name: 'usergraph_webhook_delivery_attempts_total',
    help: 'Webhook delivery attempts, by outcome (delivered: a 2xx answer; failed: anything else).',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const disabled = new Counter({
    name: 'usergraph_webhook_endpoints_disabled_total',
    help: 'Webhook endpoints disabled because an event failed for the whole retry schedule.',
    registers: [registry],
  });
  return (counter) => {
    if (counter === 'webhook_deliveries_succeeded') attempts.inc({ outcome: 'delivered' });
    else if (counter === 'webhook_delivery_attempts_failed') attempts.inc({ outcome: 'failed' });
    else disabled.inc();
  };
}
