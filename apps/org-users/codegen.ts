// Generates src/generated/resolvers-types.ts, the types of this subgraph's
// resolvers, from the SDL the service itself serves (schema.ts). It runs
// before tsc in `npm run build`; the output is gitignored (see docs/architecture.md).
import { print } from 'graphql';
import type { CodegenConfig } from '@graphql-codegen/cli';
import { orgUsersTypeDefs } from './src/schema.js';

const config: CodegenConfig = {
  schema: print(orgUsersTypeDefs()),
  generates: {
    'src/generated/resolvers-types.ts': {
      plugins: ['typescript', 'typescript-resolvers'],
      config: {
        federation: true,
        contextType: '@usergraph/service-kit#RequestContext',
        // What the resolvers really return and receive as parents (paths relative to src/generated/).
        mappers: {
          FinancialInstitutionConnection: '../modules/consumer/financial-data-service.js#ConnectionDto',
          Organization: '../modules/organizations/organization-service.js#OrganizationDto',
          Tradeline: '../modules/consumer/financial-data-service.js#TradelineDto',
          User: '../modules/users/user-service.js#ProfileDto',
          Viewer: '../modules/user-admin/user-admin-resolvers.js#ViewerModel',
        },
        // graphql-scalars' DateTime and Date parse input to a Date and serialize a Date or an ISO string.
        scalars: {
          DateTime: { input: 'Date', output: 'Date | string' },
          Date: { input: 'Date', output: 'Date | string' },
          _FieldSet: 'string',
        },
        strictScalars: true,
        enumsAsTypes: true,
        useTypeImports: true,
      },
    },
  },
};
export default config;
