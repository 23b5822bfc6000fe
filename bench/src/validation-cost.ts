/**
 * P8: what the document and operation limits (issue 12, finding 1) cost per
 * request, on the gateway's API schema, in this process (no stack needed).
 *
 *   node bench/dist/validation-cost.js '{"seconds":1}'
 *
 * For each operation: Apollo's own work on an unseen document (parse and
 * graphql-js's rules: the baseline), what the limits add on every request
 * (the check before validation, variables coerced up to one error, the cost)
 * and what they add on an unseen document only (armor's rules; Apollo keeps
 * validated documents, so a repeated document skips them). The attacks the
 * limits refuse are timed too, for information. Prints one line of JSON.
 */
import { ApolloGateway } from '@apollo/gateway';
import {
  getVariableValues,
  Kind,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { checkDocumentBeforeValidation, documentLimitRules, operationCost } from '@usergraph/service-kit';
import { fragmentPairChain } from '@usergraph/service-kit/testing';
import { composeLocalSupergraph } from '@usergraph/cli';
import { readConfigArg } from './util.js';

export interface ValidationCostConfig {
  /** Seconds spent timing each step of each operation. */
  seconds: number;
}

export interface StepTimes {
  /** Microseconds per call (median of 20 slices). */
  baselineUs: number;
  everyRequestUs: number;
  newDocumentUs: number;
}

export type ValidationCostResult = ValidationCostConfig & {
  operations: Record<string, StepTimes & { bytes: number }>;
  attacks: Record<string, { bytes: number; refusedInUs: number; refusedBy: string }>;
};

/** The gateway's defaults (documentLimitsEnv). */
const LIMITS = { maxDepth: 12, maxAliases: 30, maxDirectives: 20, maxTokens: 3000 };
const MAX_COST = 10_000;

const OPERATIONS: Record<string, { query: string; variables?: Record<string, unknown> }> = {
  'P1 users(first: 20)': {
    query: 'query BenchUsers { users(fullText: "a", first: 20) { nodes { id firstName lastName email } totalCount } }',
  },
  "D's FetchMembers ($first: 20)": {
    query:
      'query FetchMembers($fullText: String, $first: Int!) { viewer { currentOrganization { ' +
      'members(fullText: $fullText, first: $first) { nodes { firstName lastName username email } } } } }',
    variables: { fullText: 'luke', first: 20 },
  },
  "B's register (variables)": {
    query:
      'mutation ($email: String!, $password: String!, $firstName: String!, $lastName: String!) { ' +
      'register(email: $email, password: $password, firstName: $firstName, lastName: $lastName) { user { ' +
      'id email name } session { _id jwt expires } message } }',
    variables: { email: 'jeanne@example.ca', password: 'maple-Syrup-1867!', firstName: 'Jeanne', lastName: 'Tremblay' },
  },
  'users(first: 100), every user field (cost 7,201)': {
    query: `query ($first: Int!) { users(first: $first) { errors { path message fullMessage }
      nodes { id _id email phoneNumber telephone firstName lastName name status organisation taxNumber isSubscribed dateOfBirth jobTitle username
        licenses groups originGroup createdAt updatedAt syncedAt closedAt nationalIdLast4 visitorId legalName { first middle last }
        notificationPreferences { email sms push } legalAgreementVersions { version acceptedAt }
        address { city country }
        addresses { _id description firstName lastName addressLine1 addressLine2 streetNumber city state stateCode postCode country alpha2 type }
        organization { id slug name } }
      edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } totalCount } }`,
    variables: { first: 100 },
  },
};

/** Median microseconds per call of `fn`, over 20 slices of `seconds` / 20. */
function time(fn: () => unknown, seconds: number): number {
  for (let i = 0; i < 50; i++) fn(); // warm-up
  const slices: number[] = [];
  for (let s = 0; s < 20; s++) {
    const end = performance.now() + (seconds * 1000) / 20;
    let calls = 0;
    const t0 = performance.now();
    while (performance.now() < end) {
      fn();
      calls++;
    }
    slices.push(((performance.now() - t0) * 1000) / calls);
  }
  return slices.sort((a, b) => a - b)[10]!;
}

/** The check before validation parses the text itself (a second parse: counted); `document` is Apollo's, cached. */
function everyRequest(schema: GraphQLSchema, query: string, document: DocumentNode, variables: Record<string, unknown>): void {
  if (checkDocumentBeforeValidation(query, LIMITS.maxTokens)) throw new Error('refused by the check before validation');
  const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
  if (getVariableValues(schema, operation.variableDefinitions ?? [], variables, { maxErrors: 1 }).errors) throw new Error('bad variables');
  if (operationCost({ schema, document, operationName: operation.name?.value, variables }) > MAX_COST) throw new Error('too costly');
}

async function main() {
  const config = readConfigArg<ValidationCostConfig>(process.argv[2]);
  const gateway = new ApolloGateway({ supergraphSdl: composeLocalSupergraph() });
  const { schema } = await gateway.load();
  const rules = documentLimitRules(LIMITS);
  const operations: ValidationCostResult['operations'] = {};
  for (const [name, { query, variables = {} }] of Object.entries(OPERATIONS)) {
    const document = parse(query);
    if (validate(schema, document, [...specifiedRules, ...rules]).length > 0) throw new Error(`${name} is not valid`);
    operations[name] = {
      bytes: query.length,
      baselineUs: time(() => validate(schema, parse(query, { maxTokens: LIMITS.maxTokens }), specifiedRules), config.seconds),
      everyRequestUs: time(() => everyRequest(schema, query, document, variables), config.seconds),
      newDocumentUs: time(() => validate(schema, document, rules), config.seconds),
    };
  }
  const unknownKeys: Record<string, number> = {};
  for (let i = 0; i < 3000; i++) unknownKeys[`f${i}`] = 1;
  const registerA = parse('mutation ($input: RegisterOrganizationUserInput!) { registerOrganizationUser(input: $input) { user { id } } }');
  const attacks: ValidationCostResult['attacks'] = {
    'chain of 22 fragment pairs': {
      bytes: fragmentPairChain(22, 'User', '{ me { ...A0 ...B0 } }', 'id').length,
      refusedInUs: time(
        () => checkDocumentBeforeValidation(fragmentPairChain(22, 'User', '{ me { ...A0 ...B0 } }', 'id'), LIMITS.maxTokens),
        config.seconds,
      ),
      refusedBy: 'repeats, before validation',
    },
    '745 copies of organization { id }': {
      bytes: `{ me { ${'organization { id } '.repeat(745)}} }`.length,
      refusedInUs: time(
        () => checkDocumentBeforeValidation(`{ me { ${'organization { id } '.repeat(745)}} }`, LIMITS.maxTokens),
        config.seconds,
      ),
      refusedBy: 'repeats, before validation',
    },
    'input object with 3,000 unknown keys': {
      bytes: JSON.stringify(unknownKeys).length,
      refusedInUs: time(
        () =>
          getVariableValues(
            schema,
            (registerA.definitions[0] as OperationDefinitionNode).variableDefinitions ?? [],
            { input: unknownKeys },
            { maxErrors: 1 },
          ),
        config.seconds,
      ),
      refusedBy: 'variables, first error',
    },
  };
  await gateway.stop();
  const result: ValidationCostResult = { ...config, operations, attacks };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
