// Generates src/generated/resolvers-types.ts, the types of this subgraph's
// resolvers, from the SDL the service itself serves (schema.ts). It runs
// before tsc in `npm run build`; the output is gitignored (see docs/architecture.md).
import { print } from 'graphql';
import type { CodegenConfig } from '@graphql-codegen/cli';
import { licensingTypeDefs } from './src/schema.js';

const config: CodegenConfig = {
  schema: print(licensingTypeDefs()),
  generates: {
    'src/generated/resolvers-types.ts': {
      plugins: ['typescript', 'typescript-resolvers'],
      config: {
        federation: true,
        contextType: '@usergraph/service-kit#RequestContext',
        // What the resolvers really return and receive as parents (paths relative to src/generated/).
        mappers: {
          Organization: '../modules/licenses/license-resolvers.js#OrganizationRef',
          User: '../modules/licenses/license-service.js#UserLicensesDto',
        },
        scalars: { _FieldSet: 'string' },
        strictScalars: true,
        enumsAsTypes: true,
        useTypeImports: true,
      },
    },
  },
};
export default config;
