import { buildSchema, Kind, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { createApolloServer } from './apollo.js';
import { createLogger } from './logger.js';
import { MAX_COST_NODES, MUTATION_FIELD_COST, operationCost, PAGE_SIZE } from './cost-limit.js';
import { fragmentPairChain } from './testing.js';

// The shapes of usergraph's paged fields: D's users/members (`first`), A's connections (`input.first`).
const schema = buildSchema(`
  type Query { users(first: Int!, after: String): UserConnection!  me: User }
  type UserConnection { nodes: [User!]!  totalCount: Int! }
  type User { id: ID!  email: String!  licenses: [String!]!  organization: Organization!  connections(input: ConnectionsInput!): ConnectionsConnection! }
  type Organization { id: ID!  members(first: Int!): UserConnection! }
  input ConnectionsInput { first: Int  status: [String!] }
  type ConnectionsConnection { edges: [ConnectionsEdge!]! }
  type ConnectionsEdge { node: Connection! }
  type Connection { id: ID! }
`);
const cost = (query: string, variables?: Record<string, unknown>) => operationCost({ schema, document: parse(query), variables });

describe('finding 1: the cost multiplies page sizes along list paths', () => {
  it('counts a paged selection once per item of the page', () => {
    expect(cost('{ users(first: 10) { nodes { id email } totalCount } }')).toBe(1 + 10 * (1 + 2 + 1));
    expect(cost('{ me { id } }')).toBe(2);
  });

  it('grows as n^4 for users > organization > members > organization > members, so it is refused before execution', () => {
    const n4 =
      '{ users(first: 100) { nodes { organization { members(first: 100) { nodes { organization { members(first: 100) { nodes { id } } } } } } } } }';
    expect(cost(n4)).toBeGreaterThan(2_000_000);
    // The same path with one member per page stays cheap.
    expect(cost(n4.replaceAll('100', '1'))).toBeLessThan(20);
  });

  it('reads page sizes from variables, and defaults to a page of 20 when absent', () => {
    const q = 'query ($n: Int!) { users(first: $n) { nodes { id } } }';
    expect(cost(q, { n: 50 })).toBe(1 + 50 * 2);
    expect(cost('{ me { connections(input: {}) { edges { node { id } } } } }')).toBe(1 + 1 + PAGE_SIZE.default * 3);
    expect(cost('query ($i: ConnectionsInput!) { me { connections(input: $i) { edges { node { id } } } } }', { i: { first: 5 } })).toBe(
      1 + 1 + 5 * 3,
    );
  });

  it('counts an out-of-range page as a full page (the owner refuses it before reading)', () => {
    expect(cost('{ users(first: 1000000) { nodes { id } } }')).toBe(1 + PAGE_SIZE.max * 2);
    expect(cost('{ users(first: -5) { nodes { id } } }')).toBe(1);
  });

  it('weighs each root mutation field as MUTATION_FIELD_COST fields, so aliases cannot pack many into one request', () => {
    const withMutation = buildSchema('type Query { a: Int } type Mutation { login(p: String!): Session } type Session { jwt: String }');
    const aliased = (n: number) => `mutation { ${Array.from({ length: n }, (_, i) => `l${i}: login(p: "x") { jwt }`).join(' ')} }`;
    expect(operationCost({ schema: withMutation, document: parse(aliased(1)) })).toBe(MUTATION_FIELD_COST + 1);
    expect(operationCost({ schema: withMutation, document: parse(aliased(30)) })).toBe(30 * (MUTATION_FIELD_COST + 1));
  });

  it('stops a chain of fragment pairs after a bounded walk (graphql-query-complexity walks a fragment at every spread)', () => {
    const document = parse(fragmentPairChain(22, 'User', '{ me { ...A0 ...B0 } }', 'id'));
    let reads = 0;
    for (const def of document.definitions) {
      if (def.kind !== Kind.FRAGMENT_DEFINITION) continue;
      const set = def.selectionSet;
      Object.defineProperty(def, 'selectionSet', {
        get: () =>
          ++reads > 4 * MAX_COST_NODES
            ? (() => {
                throw new Error('unbounded');
              })()
            : set,
      });
    }
    expect(() => operationCost({ schema, document })).toThrow(/maximum allowed number of nodes/);
    // A read per evaluated selection that is a spread, at most: bounded by MAX_COST_NODES, not by 2^22.
    expect(reads).toBeLessThanOrEqual(2 * MAX_COST_NODES);
  });
});

describe('operationLimitsPlugin', () => {
  const run = async (query: string, variables?: Record<string, unknown>) => {
    const apollo = createApolloServer({
      schema,
      production: true,
      logger: createLogger({ service: 'test', level: 'silent' }),
      limits: { maxDepth: 20, maxAliases: 20, maxDirectives: 20, maxTokens: 1000 },
      maxCost: 300,
      isUnavailable: () => false,
    });
    await apollo.start();
    try {
      const res = await apollo.executeOperation({ query, variables }, { contextValue: {} });
      return { status: res.http.status, body: res.body.kind === 'single' ? res.body.singleResult : undefined };
    } finally {
      await apollo.stop();
    }
  };

  it('refuses an operation over the limit with 400 GRAPHQL_VALIDATION_FAILED, naming the cost and the limit, without a stack', async () => {
    const res = await run('query ($n: Int!) { me { connections(input: { first: $n }) { edges { node { id } } } } }', { n: 100 });
    expect(res.status).toBe(400);
    expect(res.body?.data).toBeUndefined();
    expect(res.body?.errors).toHaveLength(1);
    expect(res.body?.errors?.[0]?.extensions).toEqual({ code: 'GRAPHQL_VALIDATION_FAILED', limit: 'cost' });
    expect(res.body?.errors?.[0]?.message).toContain('302');
    expect(res.body?.errors?.[0]?.message).toContain('300');
  });

  it('lets an operation within the limit run', async () => {
    const res = await run('query ($n: Int!) { me { connections(input: { first: $n }) { edges { node { id } } } } }', { n: 90 });
    expect(res.body).toEqual({ data: { me: null } });
  });

  it('answers bad variables as BAD_USER_INPUT, never INTERNAL_SERVER_ERROR', async () => {
    const res = await run('query ($n: Int!) { users(first: $n) { totalCount } }', { n: 'many' });
    expect(res.status).toBe(400);
    expect(res.body?.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});
