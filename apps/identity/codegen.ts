// Generates src/generated/resolvers-types.ts, the types of this subgraph's
// resolvers, from the SDL the service itself serves (schema.ts). It runs
// before tsc in `npm run build`; the output is gitignored (see docs/architecture.md).
import { print } from 'graphql';
import type { CodegenConfig } from '@graphql-codegen/cli';
import { identityTypeDefs } from './src/schema.js';

const config: CodegenConfig = {
  schema: print(identityTypeDefs()),
  generates: {
    'src/generated/resolvers-types.ts': {
      plugins: ['typescript', 'typescript-resolvers'],
      config: {
        federation: true,
        contextType: '@usergraph/service-kit#RequestContext',
        // What the resolvers really return and receive as parents (paths relative to src/generated/).
        mappers: {
          Application: '../modules/applications/application-service.js#ApplicationDto',
          RegisterUserResponse: '../modules/registration/register-user-service.js#RegisterUserResult',
          Session: '../modules/sessions/session-service.js#SessionDto',
          User: '../modules/registration/registration-resolvers.js#IdentityUser',
        },
        // graphql-scalars' DateTime parses input to a Date and serializes a Date or an ISO string.
        scalars: { DateTime: { input: 'Date', output: 'Date | string' }, _FieldSet: 'string' },
        strictScalars: true,
        enumsAsTypes: true,
        useTypeImports: true,
      },
    },
  },
};
export default config;
