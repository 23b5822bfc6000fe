import {
  GraphQLError,
  getNullableType,
  getVariableValues,
  isInputObjectType,
  type DocumentNode,
  type GraphQLField,
  type GraphQLSchema,
} from 'graphql';
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { getComplexity, type ComplexityEstimator } from 'graphql-query-complexity';
import { limitError } from './document-limits.js';

/** Every paged field of usergraph takes `first` 0..100, 20 when absent (README, "Pagination"); org-users' pagination.ts validates with these. */
export const PAGE_SIZE = { default: 20, max: 100 } as const;

/**
 * graphql-query-complexity walks a fragment again at every spread; it stops
 * after this many selections, so a chain of fragment pairs costs at most a few
 * milliseconds. A document within MAX_TOKENS has far fewer selections unless
 * it spreads fragments many times over.
 */
export const MAX_COST_NODES = 5000;

/** A `first` argument of the field, or of its `input` object (A's ConnectionsInput). */
function pageSizeArgument(field: GraphQLField<unknown, unknown>, args: Record<string, unknown>): number | undefined {
  for (const arg of field.args) {
    if (arg.name === 'first') return pageSize(args.first);
    const type = getNullableType(arg.type);
    if (isInputObjectType(type) && type.getFields().first) {
      return pageSize((args[arg.name] as { first?: unknown } | null | undefined)?.first);
    }
  }
  return undefined;
}

/** Out-of-range values are refused by the owning service before any read, so they cost at most a full page. */
const pageSize = (first: unknown): number =>
  typeof first === 'number' && Number.isFinite(first) ? Math.min(Math.max(Math.trunc(first), 0), PAGE_SIZE.max) : PAGE_SIZE.default;

/**
 * A mutation writes to several services or sends a code: each root mutation
 * field weighs this many fields, so aliases cannot pack dozens of `createUser`
 * or `deleteUsers` calls into one small request (at the default
 * MAX_QUERY_COST, 9 per operation). Password, code and session mutations are
 * held to one per operation by sensitiveMutationLimitRule.
 */
export const MUTATION_FIELD_COST = 1000;

/**
 * Cost = the number of fields the answer can hold: each field costs 1 plus
 * its selection, and a paged field's selection counts once per item of a full
 * page. Unpaged lists (licenses, groups, addresses, seat usage) are short by
 * contract and count once. A root mutation field costs MUTATION_FIELD_COST.
 */
export const pageSizeEstimator: ComplexityEstimator = ({ type, field, args, childComplexity }) =>
  (type.name === 'Mutation' ? MUTATION_FIELD_COST : 1) + (pageSizeArgument(field, args) ?? 1) * childComplexity;

/** The cost of the operation `operationName` (or the only one), for these variable values. */
export function operationCost(opts: {
  schema: GraphQLSchema;
  document: DocumentNode;
  operationName?: string;
  variables?: Record<string, unknown>;
}): number {
  return getComplexity({
    schema: opts.schema,
    query: opts.document,
    operationName: opts.operationName,
    variables: opts.variables ?? {},
    estimators: [pageSizeEstimator],
    maxQueryNodes: MAX_COST_NODES,
  });
}

/**
 * Checks each operation once its document is valid and before anything runs:
 *
 * - Variables are coerced with at most one error. Every other coercion in the
 *   path reports every error and describes the whole invalid value in each
 *   (@apollo/gateway's validateIncomingRequest has no error limit; graphql-js's
 *   execute stops at 50): an input object with 9,000 unknown keys (89 KB) held
 *   the gateway 54 s. Stopping at the first error makes that linear.
 * - With `maxCost`, refuses an operation costing more (operationCost). A
 *   plugin rather than a validation rule, because the cost depends on the
 *   variables (`first: $first`), which validation does not see. At the gateway
 *   it runs on the API schema, before the query is planned.
 *
 * One hook, in this order: Apollo starts every plugin's didResolveOperation at
 * once, so a second plugin would not wait for the first one's refusal.
 */
export function operationLimitsPlugin<TContext extends BaseContext>(opts: { maxCost?: number } = {}): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ schema, document, operation, request }) {
          if (!operation) return; // Apollo answers that itself
          const variables = request.variables ?? {};
          const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables, { maxErrors: 1 });
          // Execution would refuse them in the same words (errors.ts keeps the path, drops the value).
          if (coerced.errors) throw withStatus(new GraphQLError(coerced.errors[0]!.message, { extensions: { code: 'BAD_USER_INPUT' } }));
          if (opts.maxCost === undefined) return;
          let cost: number;
          try {
            cost = operationCost({ schema, document, operationName: operation.name?.value, variables });
          } catch (err) {
            if (err instanceof GraphQLError && err.message.includes('maximum allowed number of nodes')) {
              throw withStatus(
                limitError('cost', `Query is too complex: more than ${MAX_COST_NODES} selections once fragments are spread`),
              );
            }
            throw err;
          }
          if (cost > opts.maxCost)
            throw withStatus(limitError('cost', `Query is too costly: cost ${cost} exceeds the limit of ${opts.maxCost}`));
        },
      };
    },
  };
}

function withStatus(error: GraphQLError): GraphQLError {
  return new GraphQLError(error.message, { extensions: { ...error.extensions, http: { status: 400 } } });
}
