import { describe, expect, it } from 'vitest';
import { compose, fieldsTakenOver } from './compose.js';

const LINK = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@shareable", "@override"])';
const users = {
  name: 'users',
  url: 'http://users.invalid/graphql',
  sdl: `${LINK}
type User @key(fields: "id") { id: ID! email: String! @shareable name: String! }
type Query { me: User @shareable }`,
};
const loyalty = (body: string, query = '') => ({
  name: 'loyalty',
  url: 'http://loyalty.invalid/graphql',
  sdl: `${LINK}\ntype User @key(fields: "id") { id: ID! ${body} }\n${query}`,
});

function supergraphOf(...subgraphs: Array<{ name: string; url: string; sdl: string }>): string {
  const result = compose(subgraphs);
  if (!result.ok) throw new Error(result.errors.map((e) => e.message).join('; '));
  return result.supergraphSdl;
}

describe("fieldsTakenOver: a team may not take over another team's fields", () => {
  const current = supergraphOf(users, loyalty('points: Int!'));

  it("a @shareable copy of another subgraph's entity field composes, and is caught", () => {
    const next = supergraphOf(users, loyalty('points: Int! email: String! @shareable'));
    expect(fieldsTakenOver(current, next, 'loyalty')).toEqual(['User.email']);
  });

  it("an @override of another subgraph's field is caught", () => {
    const next = supergraphOf(users, loyalty('points: Int! name: String! @override(from: "users")'));
    expect(fieldsTakenOver(current, next, 'loyalty')).toEqual(['User.name']);
  });

  it('a root field shared with another subgraph is caught', () => {
    const next = supergraphOf(users, loyalty('points: Int!', 'type Query { me: User @shareable }'));
    expect(fieldsTakenOver(current, next, 'loyalty')).toEqual(['Query.me']);
  });

  it("the key, new fields and the team's own fields are not a takeover", () => {
    expect(fieldsTakenOver(current, supergraphOf(users, loyalty('points: Int! tier: String!')), 'loyalty')).toEqual([]);
    // A subgraph's first publish: only the key is shared.
    expect(fieldsTakenOver(supergraphOf(users), current, 'loyalty')).toEqual([]);
    // The owner changing its own fields.
    const usersNext = { ...users, sdl: users.sdl.replace('name: String!', 'name: String! nickname: String') };
    expect(fieldsTakenOver(current, supergraphOf(usersNext, loyalty('points: Int!')), 'users')).toEqual([]);
  });
});

describe('compose', () => {
  it('reports a type conflict as a composition error with its code', () => {
    const result = compose([users, loyalty('email: Int @shareable')]);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors.map((e) => e.code)).toContain('FIELD_TYPE_MISMATCH');
  });

  it('reports SDL that does not parse as INVALID_SDL, naming the subgraph', () => {
    const result = compose([users, { name: 'loyalty', url: 'http://l.invalid/graphql', sdl: 'type User {' }]);
    expect(result).toMatchObject({ ok: false, errors: [{ code: 'INVALID_SDL' }] });
    if (!result.ok) expect(result.errors[0]!.message).toMatch(/^loyalty: /);
  });
});
