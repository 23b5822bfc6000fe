export const SUBGRAPH_NAMES = ['identity', 'org-users', 'licensing'] as const;
export type SubgraphName = (typeof SUBGRAPH_NAMES)[number];
