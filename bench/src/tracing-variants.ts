/**
 * Tracing settings by name, for tracing-cost.ts and tracing-ab.ts (`<name>+<name>` combines them): the standard OTEL_* variables. `on` is
 * P10's traced side: every request sampled, exported to Jaeger by the batch span processor.
 */
export const VARIANTS: Record<string, (otlp: string) => Record<string, string>> = {
  off: () => ({}),
  on: (otlp) => ({ OTEL_EXPORTER_OTLP_ENDPOINT: otlp, OTEL_TRACES_SAMPLER: 'always_on' }),
  always_off: (otlp) => ({ OTEL_EXPORTER_OTLP_ENDPOINT: otlp, OTEL_TRACES_SAMPLER: 'always_off' }),
  ratio10: (otlp) => ({
    OTEL_EXPORTER_OTLP_ENDPOINT: otlp,
    OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
    OTEL_TRACES_SAMPLER_ARG: '0.1',
  }),
  ratio1: (otlp) => ({
    OTEL_EXPORTER_OTLP_ENDPOINT: otlp,
    OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
    OTEL_TRACES_SAMPLER_ARG: '0.01',
  }),
  json: () => ({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }),
};
export const variantEnv = (name: string, otlp: string): Record<string, string> =>
  Object.assign(
    {},
    ...name.split('+').map((part) => {
      // `KEY=value` sets any variable (an experiment; the value may hold `=` and spaces), a bare name is a variant above.
      const eq = part.indexOf('=');
      if (eq > 0) return { [part.slice(0, eq)]: part.slice(eq + 1) };
      const variant = VARIANTS[part];
      if (!variant) throw new Error(`unknown variant ${part}: ${Object.keys(VARIANTS).join(', ')}`);
      return variant(otlp);
    }),
  );
