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

describe('fieldsTakenOver: no way around the rule (every field keeps exactly the subgraphs that resolved it)', () => {
  const FED =
    'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@shareable", "@override", "@external", "@provides", "@requires", "@interfaceObject"])';
  const owner = {
    name: 'users',
    url: 'http://users.invalid/graphql',
    sdl: `${FED}
type User @key(fields: "id") { id: ID! email: String! @shareable name: String! }
type Org @shareable { slug: String! title: String! }
interface Account @key(fields: "id") { id: ID! balance: Int! }
type Acc implements Account @key(fields: "id") { id: ID! balance: Int! @shareable }
type Query { me: User @shareable accounts: [Account] }`,
  };
  const team = (sdl: string) => ({ name: 'loyalty', url: 'http://loyalty.invalid/graphql', sdl: `${FED}\n${sdl}` });
  const current = supergraphOf(owner, team('type User @key(fields: "id") { id: ID! points: Int! }'));
  const takenBy = (sdl: string) => fieldsTakenOver(current, supergraphOf(owner, team(sdl)), 'loyalty');

  it('a new @key on the field it overrides does not exempt it (the planner would route User.email to the newcomer only)', () => {
    expect(
      takenBy('type User @key(fields: "id") @key(fields: "email") { id: ID! points: Int! email: String! @override(from: "users") }'),
    ).toEqual(['User.email']);
  });

  it("a new @key on another subgraph's @shareable field is a takeover, not an exempt key field", () => {
    expect(takenBy('type User @key(fields: "id") @key(fields: "email") { id: ID! points: Int! email: String! }')).toEqual(['User.email']);
  });

  it('a progressive @override (label) is refused outright, although the owner still resolves the field', () => {
    expect(
      takenBy('type User @key(fields: "id") { id: ID! points: Int! name: String! @override(from: "users", label: "percent(1)") }'),
    ).toEqual(['User.name']);
  });

  it('an @override of a field the two subgraphs share takes it from the other one: refused', () => {
    const shared = supergraphOf(owner, team('type User @key(fields: "id") { id: ID! points: Int! email: String! @shareable }'));
    const next = supergraphOf(owner, team('type User @key(fields: "id") { id: ID! points: Int! email: String! @override(from: "users") }'));
    expect(fieldsTakenOver(shared, next, 'loyalty')).toEqual(['User.email']);
    // Stopping to share it is the team's own business.
    expect(fieldsTakenOver(shared, current, 'loyalty')).toEqual([]);
  });

  it("an @interfaceObject copy of another subgraph's entity interface field is caught", () => {
    expect(
      takenBy(
        'type User @key(fields: "id") { id: ID! points: Int! }\ntype Account @key(fields: "id") @interfaceObject { id: ID! balance: Int! @shareable }',
      ),
    ).toEqual(['Account.balance']);
  });

  it('turning a shared value type into an entity (a new key) and overriding its field is caught', () => {
    expect(
      takenBy(
        'type User @key(fields: "id") { id: ID! points: Int! }\n' +
          'type Org @key(fields: "slug") @shareable { slug: String! title: String! @override(from: "users") }',
      ),
    ).toEqual(['Org.slug', 'Org.title']);
  });

  it("@provides and @requires on the team's own new fields are no takeover: the owner still resolves the field everywhere else", () => {
    // Identity's register payload provides the profile it just wrote, the same way.
    expect(
      takenBy(
        'type User @key(fields: "id") { id: ID! points: Int! email: String! @external }\ntype Query { top: [User] @provides(fields: "email") }',
      ),
    ).toEqual([]);
    expect(
      takenBy('type User @key(fields: "id") { id: ID! points: Int! name: String! @external rank: Int @requires(fields: "name") }'),
    ).toEqual([]);
  });

  it('a @provides on a copy of a root field another subgraph owns is caught through the root field', () => {
    expect(
      takenBy(
        'type User @key(fields: "id") { id: ID! points: Int! email: String! @external }\ntype Query { me: User @shareable @provides(fields: "email") }',
      ),
    ).toEqual(['Query.me']);
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
