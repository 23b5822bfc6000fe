import { GraphQLError, GraphQLObjectType, GraphQLSchema, GraphQLString, graphql, type GraphQLFormattedError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { createApolloServer } from './apollo.js';
import { readFileSync } from 'node:fs';
import { DomainError, REFINED_REASONS, createErrorFormatter, errSummary, toGraphQLError, undefinedIfNotFound } from './errors.js';
import { createLogger } from './logger.js';

class FakeNetworkError extends Error {
  override name = 'MongoNetworkError';
}

function setup() {
  const lines: string[] = [];
  const logger = createLogger({ service: 'test', level: 'info', destination: { write: (s: string) => void lines.push(s) } });
  const format = createErrorFormatter({ logger, isUnavailable: (err) => err instanceof FakeNetworkError });
  return { lines, logger, format };
}

const throwing = (fn: () => never) => ({ type: GraphQLString, resolve: fn });
const schema = new GraphQLSchema({
  query: new GraphQLObjectType({
    name: 'Query',
    fields: {
      domain: throwing(() => {
        throw new DomainError(
          'CONFLICT',
          'The email address is already in use',
          [{ path: ['input', 'email'], message: 'is already in use' }],
          {
            reason: 'ALREADY_IN_USE',
            dialectCode: 'AUTH-0027',
          },
        );
      }),
      boom: throwing(() => {
        throw new Error('connect ECONNREFUSED mongodb://admin:hunter2@10.0.0.5');
      }),
      db: throwing(() => {
        throw new FakeNetworkError('socket closed on 10.0.0.5');
      }),
      ok: { type: GraphQLString, resolve: () => 'fine' },
    },
  }),
});

async function run(field: string, format: ReturnType<typeof setup>['format']): Promise<GraphQLFormattedError> {
  const result = await graphql({ schema, source: `{ ${field} }` });
  expect(result.errors).toHaveLength(1);
  const error = result.errors![0]!;
  return format(error.toJSON(), error);
}

describe('createErrorFormatter', () => {
  it("keeps a DomainError's message, code and fields (paths joined)", async () => {
    const { format } = setup();
    expect(await run('domain', format)).toEqual({
      message: 'The email address is already in use',
      path: ['domain'],
      extensions: { code: 'CONFLICT', reason: 'ALREADY_IN_USE', fields: [{ path: 'input.email', message: 'is already in use' }] },
    });
  });

  it('hides an unknown error behind INTERNAL_SERVER_ERROR, without stack or detail, and logs it', async () => {
    const { format, lines } = setup();
    const formatted = await run('boom', format);
    expect(formatted).toEqual({ message: 'Internal server error', path: ['boom'], extensions: { code: 'INTERNAL_SERVER_ERROR' } });
    expect(JSON.stringify(formatted)).not.toMatch(/hunter2|ECONNREFUSED|stack/i);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 'error', msg: 'unexpected error', err: { name: 'Error' } });
    // Nor in the log: no stack trace, no password from the URL the message quotes.
    expect(lines[0]).not.toMatch(/"stack":"[^"]|\\n\s+at |hunter2/);
    expect(JSON.parse(lines[0]!).err.message).toBe('connect ECONNREFUSED mongodb://REDACTED@10.0.0.5');
  });

  it('answers SERVICE_UNAVAILABLE when the database is unavailable', async () => {
    const { format } = setup();
    const formatted = await run('db', format);
    expect(formatted).toEqual({
      message: 'Service temporarily unavailable, please retry',
      path: ['db'],
      extensions: { code: 'SERVICE_UNAVAILABLE', reason: 'STORE_UNAVAILABLE' },
    });
  });

  it('passes known GraphQL codes through, without stacktrace', () => {
    const { format } = setup();
    const error = new GraphQLError('Cannot query field "x"', { extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } });
    const formatted = format({ message: error.message, extensions: { code: 'GRAPHQL_VALIDATION_FAILED', stacktrace: ['at x'] } }, error);
    expect(formatted).toEqual({ message: 'Cannot query field "x"', extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } });
  });

  it('turns an unknown code into INTERNAL_SERVER_ERROR', () => {
    const { format } = setup();
    const error = new GraphQLError('Mongo said E11000 on users.email', { extensions: { code: 'SOME_LIBRARY_CODE' } });
    expect(format(error.toJSON(), error)).toEqual({ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
  });

  it('toGraphQLError carries an HTTP status only when asked', () => {
    const err = new DomainError('UNAUTHENTICATED', 'Invalid access token');
    expect(toGraphQLError(err).extensions).toEqual({ code: 'UNAUTHENTICATED' });
    expect(toGraphQLError(err, 401).extensions).toEqual({ code: 'UNAUTHENTICATED', http: { status: 401 } });
  });

  it('issue 13: every DomainError has a reason (its code by default); only a refining reason is shown, next to the unchanged code', () => {
    const plain = new DomainError('CONFLICT', 'Taken');
    const refined = new DomainError('CONFLICT', 'Taken', [], { reason: 'LAST_COMPANY_ADMIN' });
    expect(plain.reason).toBe('CONFLICT');
    expect(toGraphQLError(plain).extensions).toEqual({ code: 'CONFLICT' });
    expect(toGraphQLError(refined).extensions).toEqual({ code: 'CONFLICT', reason: 'LAST_COMPANY_ADMIN' });
  });

  it("issue 13: the README's Errors section names every reason a response can carry", () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const errorsSection = readme.slice(readme.indexOf('\n## Errors'), readme.indexOf('\n## ', readme.indexOf('\n## Errors') + 1));
    const internalOnly = new Set(['UNKNOWN_COMMAND']);
    for (const reason of REFINED_REASONS.filter((r) => !internalOnly.has(r))) expect(errorsSection, reason).toContain(`| \`${reason}\` |`);
  });

  it('issue 13: not found vs store down: undefinedIfNotFound reads only a missing object as undefined', () => {
    expect(undefinedIfNotFound(new DomainError('NOT_FOUND', 'User not found'))).toBeUndefined();
    const outages = [
      new DomainError('SERVICE_UNAVAILABLE', 'Database unavailable', [], { reason: 'STORE_UNAVAILABLE' }),
      new DomainError('NOT_FOUND', 'Unknown internal command "getProfile"', [], { reason: 'UNKNOWN_COMMAND' }),
      new FakeNetworkError('socket closed'),
    ];
    for (const err of outages) expect(() => undefinedIfNotFound(err)).toThrow(err);
  });
});

describe('createApolloServer error responses', () => {
  it('never sends a stack trace, even outside production', async () => {
    const { logger } = setup();
    const apollo = createApolloServer({
      schema,
      production: false,
      logger,
      limits: { maxDepth: 5, maxAliases: 5, maxDirectives: 5, maxTokens: 100 },
      isUnavailable: (err) => err instanceof FakeNetworkError,
    });
    await apollo.start();
    try {
      const res = await apollo.executeOperation({ query: '{ ok boom domain db }' }, { contextValue: {} });
      expect(res.body.kind).toBe('single');
      if (res.body.kind !== 'single') return;
      const { data, errors } = res.body.singleResult;
      expect(data).toEqual({ ok: 'fine', boom: null, domain: null, db: null });
      const byPath = Object.fromEntries((errors ?? []).map((e) => [e.path?.[0], e]));
      expect(byPath.boom?.extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR' });
      expect(byPath.domain?.extensions).toMatchObject({ code: 'CONFLICT', reason: 'ALREADY_IN_USE' });
      expect(byPath.db?.extensions).toEqual({ code: 'SERVICE_UNAVAILABLE', reason: 'STORE_UNAVAILABLE' });
      expect(JSON.stringify(errors)).not.toContain('stacktrace');
      expect(JSON.stringify(errors)).not.toContain('hunter2');
    } finally {
      await apollo.stop();
    }
  });
});

describe('errSummary', () => {
  it.each([
    ['mongodb://u:p@h:27017/db', 'mongodb://REDACTED@h:27017/db'],
    ['mongodb+srv://u:p@cluster.example/db', 'mongodb+srv://REDACTED@cluster.example/db'],
    ['smtps://u:pa@ss@mail.example', 'smtps://REDACTED@mail.example'],
    ['at \'redis://:secret@cache:6379\' and "http://a:b@x/y"', 'at \'redis://REDACTED@cache:6379\' and "http://REDACTED@x/y"'],
    ['_mongodb://u:p@h', '_mongodb://REDACTED@h'],
    ['user@host.example is unknown', 'user@host.example is unknown'],
    ['https://host.example/path?email=a@b.example', 'https://host.example/path?email=a@b.example'],
  ])('redacts the credentials of %s', (message, logged) => {
    expect(errSummary(new Error(message))).toEqual({ name: 'Error', message: logged });
  });

  it('keeps no stack, and at most 2,000 characters of a message', () => {
    expect(Object.keys(errSummary(new Error('x')))).toEqual(['name', 'message']);
    expect(errSummary(new Error(`x://${'a.'.repeat(50_000)}`)).message).toHaveLength(2_001);
  });
});
