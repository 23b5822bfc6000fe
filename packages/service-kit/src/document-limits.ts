import { GraphQLError, type ValidationContext, type ValidationRule } from 'graphql';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';

/**
 * Limits on abusive documents. Depth, aliases and directives are
 * graphql-armor's validation rules, which count each fragment once and reuse
 * the count at every spread (linear in the document; a hand-written depth rule
 * that walked a fragment again at each spread took seconds on a 2 KB chain of
 * fragment pairs). Tokens are counted by graphql-js's own parser
 * (`parseOptions.maxTokens`), during the one parse Apollo does: armor's
 * max-tokens for Apollo parses every document a second time to count them.
 * Nesting inside introspection is bounded by graphql-js's
 * MaxIntrospectionDepthRule, one of the specified rules Apollo always runs.
 */
export interface DocumentLimits {
  maxDepth: number;
  maxAliases: number;
  maxDirectives: number;
  maxTokens: number;
}

/** Which limit refused a document, in `extensions.limit`, so clients and tests need not read the message. */
export type DocumentLimitName = 'depth' | 'aliases' | 'directives' | 'tokens' | 'cost';

export function limitError(limit: DocumentLimitName, message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'GRAPHQL_VALIDATION_FAILED', limit } });
}

/**
 * Armor throws by default (a 500 from Apollo); reporting to the validation
 * context gives Apollo's 400 GRAPHQL_VALIDATION_FAILED instead. Armor's
 * message starts "Syntax Error: ", which this is not.
 */
const reportAs = (limit: DocumentLimitName) => ({
  propagateOnRejection: false,
  exposeLimits: true,
  onReject: [
    (context: ValidationContext | null, error: GraphQLError) => {
      context?.reportError(limitError(limit, error.message.replace(/^Syntax Error: /, '')));
    },
  ],
});

export function documentLimitRules(limits: Omit<DocumentLimits, 'maxTokens'>): ValidationRule[] {
  return [
    // flattenFragments: a fragment adds no level of its own; only fields do.
    // __schema is not counted: MaxIntrospectionDepthRule bounds introspection.
    maxDepthRule({ n: limits.maxDepth, flattenFragments: true, ignoreIntrospection: true, ...reportAs('depth') }),
    // Every alias counts, __typename's too (armor lets those through by default).
    maxAliasesRule({ n: limits.maxAliases, allowList: [], ...reportAs('aliases') }),
    maxDirectivesRule({ n: limits.maxDirectives, ...reportAs('directives') }),
  ] as ValidationRule[];
}
