import { composeServices } from '@apollo/composition';
import { Supergraph } from '@apollo/federation-internals';
import { diff, CriticalityLevel, type Change, type TypeOfChangeType } from '@graphql-inspector/core';
import { Kind, parse, type ConstDirectiveNode, type DocumentNode, type GraphQLSchema, type ValueNode } from 'graphql';

export interface SubgraphInput {
  name: string;
  sdl: string;
  url: string;
}

export interface Problem {
  code: string;
  message: string;
}

export type Composition = { ok: true; supergraphSdl: string; apiSchema: GraphQLSchema } | { ok: false; errors: Problem[] };

/** Composes the given subgraphs (sorted by name, so the same set always gives the same supergraph). */
export function compose(subgraphs: SubgraphInput[]): Composition {
  const services: Array<{ name: string; url: string; typeDefs: DocumentNode }> = [];
  for (const s of [...subgraphs].sort((a, b) => a.name.localeCompare(b.name))) {
    try {
      services.push({ name: s.name, url: s.url, typeDefs: parse(s.sdl) });
    } catch (err) {
      return { ok: false, errors: [{ code: 'INVALID_SDL', message: `${s.name}: ${(err as Error).message}` }] };
    }
  }
  const result = composeServices(services);
  if (result.errors) {
    return {
      ok: false,
      errors: result.errors.map((e) => ({
        code: typeof e.extensions.code === 'string' ? e.extensions.code : 'COMPOSITION_ERROR',
        message: e.message,
      })),
    };
  }
  return { ok: true, supergraphSdl: result.supergraphSdl, apiSchema: result.schema.toAPISchema().toGraphQLJSSchema() };
}

/** The schema clients see (no join__ or federation machinery) of a stored supergraph. */
export const apiSchemaOf = (supergraphSdl: string): GraphQLSchema => Supergraph.build(supergraphSdl).apiSchema().toGraphQLJSSchema();

export interface SchemaChange {
  level: 'BREAKING' | 'DANGEROUS' | 'NON_BREAKING';
  type: string;
  path?: string;
  message: string;
}

/** Every change from `before` to `after`, as @graphql-inspector/core classifies it for clients. */
export async function changesBetween(before: GraphQLSchema, after: GraphQLSchema): Promise<SchemaChange[]> {
  const changes = await diff(before, after);
  return changes.map((c: Change<TypeOfChangeType>) => ({
    level:
      c.criticality.level === CriticalityLevel.Breaking
        ? 'BREAKING'
        : c.criticality.level === CriticalityLevel.Dangerous
          ? 'DANGEROUS'
          : 'NON_BREAKING',
    type: c.type,
    ...(c.path ? { path: c.path } : {}),
    message: c.message,
  }));
}

type Directives = readonly ConstDirectiveNode[];
const argOf = (directive: ConstDirectiveNode, name: string): ValueNode | undefined =>
  directive.arguments?.find((a) => a.name.value === name)?.value;
const enumArg = (d: ConstDirectiveNode, name: string) => {
  const v = argOf(d, name);
  return v?.kind === Kind.ENUM ? v.value : undefined;
};
const isTrue = (d: ConstDirectiveNode, name: string) => {
  const v = argOf(d, name);
  return v?.kind === Kind.BOOLEAN && v.value;
};
const named = (directives: Directives | undefined, name: string) => (directives ?? []).filter((d) => d.name.value === name);

/**
 * Who resolves each field clients can reach through an entity or a root type
 * ("User.email" -> its subgraphs' join__Graph values), read from a
 * supergraph's join__ directives; key fields are left out (every subgraph
 * with the key resolves them).
 */
function fieldResolvers(supergraphSdl: string): { graphOf: Map<string, string>; owners: Map<string, Set<string>> } {
  const doc = parse(supergraphSdl);
  const graphOf = new Map<string, string>();
  const owners = new Map<string, Set<string>>();
  for (const def of doc.definitions) {
    if (def.kind === Kind.ENUM_TYPE_DEFINITION && def.name.value === 'join__Graph') {
      for (const value of def.values ?? []) {
        const name = argOf(named(value.directives, 'join__graph')[0]!, 'name');
        if (name?.kind === Kind.STRING) graphOf.set(name.value, value.name.value);
      }
    }
  }
  for (const def of doc.definitions) {
    if (def.kind !== Kind.OBJECT_TYPE_DEFINITION && def.kind !== Kind.INTERFACE_TYPE_DEFINITION) continue;
    const joinTypes = named(def.directives, 'join__type');
    const keyed = joinTypes.filter((d) => argOf(d, 'key'));
    const isRoot = ['Query', 'Mutation', 'Subscription'].includes(def.name.value);
    if (!isRoot && keyed.length === 0) continue;
    const keyFields = new Set(
      keyed.flatMap((d) => {
        const key = argOf(d, 'key');
        // Top-level names of the key's selection set ("id", "id org { id }" -> id, org).
        return key?.kind === Kind.STRING
          ? key.value
              .replace(/\{[^}]*\}/g, ' ')
              .split(/[\s,]+/)
              .filter(Boolean)
          : [];
      }),
    );
    for (const field of def.fields ?? []) {
      if (keyFields.has(field.name.value)) continue;
      const joins = named(field.directives, 'join__field');
      const graphs = joins.length
        ? joins.filter((d) => !isTrue(d, 'external') && !isTrue(d, 'usedOverridden')).map((d) => enumArg(d, 'graph'))
        : joinTypes.map((d) => enumArg(d, 'graph'));
      owners.set(`${def.name.value}.${field.name.value}`, new Set(graphs.filter((g): g is string => g !== undefined)));
    }
  }
  return { graphOf, owners };
}

/**
 * Fields of an entity or root type that `subgraph` would newly resolve although
 * other subgraphs already do (a @shareable copy, an @override): the query
 * planner could then route them to it. Composition allows this and clients see
 * no change, but a team's credential must not take over another team's fields.
 */
export function fieldsTakenOver(currentSupergraphSdl: string, nextSupergraphSdl: string, subgraph: string): string[] {
  const before = fieldResolvers(currentSupergraphSdl);
  const after = fieldResolvers(nextSupergraphSdl);
  const mine = after.graphOf.get(subgraph);
  const minePrev = before.graphOf.get(subgraph);
  if (!mine) return [];
  const taken: string[] = [];
  for (const [field, owners] of after.owners) {
    if (!owners.has(mine)) continue;
    const previous = before.owners.get(field);
    if (!previous) continue; // a new field: nobody else had it
    const others = [...previous].filter((g) => g !== minePrev);
    const hadIt = minePrev !== undefined && previous.has(minePrev);
    if (others.length > 0 && !hadIt) taken.push(field);
  }
  return taken.sort();
}
