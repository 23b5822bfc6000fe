import { GraphQLError, type ASTVisitor, type ValidationContext } from 'graphql';

/**
 * Refuses an operation whose root type the schema does not have. graphql-js 16
 * validates nothing under such a root (no parent type to check fields against)
 * and fails only at execution: `subscription { anything }` reached the gateway's
 * query planner, which answered INTERNAL_SERVER_ERROR (500), and minted a
 * metrics label from the client's field name.
 */
export function knownOperationTypeRule(context: ValidationContext): ASTVisitor {
  return {
    OperationDefinition(node) {
      if (!context.getSchema().getRootType(node.operation)) {
        context.reportError(new GraphQLError(`This API answers no ${node.operation} operations`, { nodes: node }));
      }
    },
  };
}
