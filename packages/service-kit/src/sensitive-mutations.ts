import {
  GraphQLError,
  Kind,
  OperationTypeNode,
  type FragmentDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';

/**
 * identity's mutations that hash or check a password, check or send a code,
 * or issue a session. Anyone may call most of them, and each one is a guess
 * or a cost: aliases would pack dozens into one request (issue 12, aliases).
 */
export const SENSITIVE_MUTATIONS: readonly string[] = [
  'register',
  'login',
  'refreshSession',
  'requestPasswordReset',
  'resetPassword',
  'resendVerificationCode',
  'verifyEmail',
  'changePassword',
];

/**
 * Refuses an operation holding more than one sensitive root mutation field
 * (aliases, fragments and @skip/@include counted as written), before anything
 * runs: GRAPHQL_VALIDATION_FAILED with `extensions.limit` =
 * 'sensitive-mutations'. Rate limits still count every call; this keeps one
 * request to one guess. Linear: each root-level fragment is walked once.
 */
export function sensitiveMutationLimitRule(fields: readonly string[] = SENSITIVE_MUTATIONS, max = 1): ValidationRule {
  const sensitive = new Set(fields);
  return (context: ValidationContext) => {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const def of context.getDocument().definitions) {
      if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
    }
    const count = (set: SelectionSetNode, seen: Set<string>): number => {
      let n = 0;
      for (const sel of set.selections) {
        if (sel.kind === Kind.FIELD) n += sensitive.has(sel.name.value) ? 1 : 0;
        else if (sel.kind === Kind.INLINE_FRAGMENT) n += count(sel.selectionSet, seen);
        else if (!seen.has(sel.name.value)) {
          seen.add(sel.name.value);
          const frag = fragments.get(sel.name.value);
          if (frag) n += count(frag.selectionSet, seen);
        }
      }
      return n;
    };
    return {
      OperationDefinition(node) {
        if (node.operation !== OperationTypeNode.MUTATION) return;
        const n = count(node.selectionSet, new Set());
        if (n > max) {
          context.reportError(
            new GraphQLError(`One request may hold at most ${max} of ${fields.join(', ')}; send them as separate requests`, {
              nodes: node,
              extensions: { code: 'GRAPHQL_VALIDATION_FAILED', limit: 'sensitive-mutations' },
            }),
          );
        }
      },
    };
  };
}
