import { composeServices } from '@apollo/composition';
import { Supergraph } from '@apollo/federation-internals';
import { diff, CriticalityLevel, type Change, type TypeOfChangeType } from '@graphql-inspector/core';
import {
  Kind,
  parse,
  type ConstDirectiveNode,
  type DocumentNode,
  type GraphQLSchema,
  type InterfaceTypeDefinitionNode,
  type ObjectTypeDefinitionNode,
  type ValueNode,
} from 'graphql';

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

const ROOTS = ['Query', 'Mutation', 'Subscription'];

/** A supergraph read for who resolves what (from its join__ directives). */
interface Resolution {
  /** Subgraph name -> its join__Graph value. */
  graphOf: Map<string, string>;
  /** "User.email" -> the join__Graph values that can resolve it wherever it is reached (directly, as a key field, through an @interfaceObject). */
  resolvers: Map<string, Set<string>>;
  /** "User.id": the top-level fields of any subgraph's @key. */
  keyFields: Set<string>;
  /** Types with a @key in some subgraph. */
  entities: Set<string>;
  /** Fields a graph takes with @override: "User.email" -> { graph, from: the subgraph name it names }. */
  overrides: Array<{ field: string; graph: string; from: string }>;
}

/** Top-level field names of a field set ("id org { id }" -> id, org). */
const topLevelFields = (fieldSet: string): string[] =>
  fieldSet
    .replace(/\{[^}]*\}/g, ' ')
    .split(/[\s,]+/)
    .filter(Boolean);

/**
 * Who resolves each field of each object and interface type.
 */
function resolutionOf(supergraphSdl: string): Resolution {
  const doc = parse(supergraphSdl);
  // Not counted: @provides (its graph serves the fields only below its own field, which is checked itself)
  // and @requires (its graph reads the fields, the planner still fetches them from their owners).
  const graphOf = new Map<string, string>();
  const resolvers = new Map<string, Set<string>>();
  const keyFields = new Set<string>();
  const overrides: Resolution['overrides'] = [];
  const types = new Map<string, ObjectTypeDefinitionNode | InterfaceTypeDefinitionNode>();
  for (const def of doc.definitions) {
    if (def.kind === Kind.ENUM_TYPE_DEFINITION && def.name.value === 'join__Graph') {
      for (const value of def.values ?? []) {
        const name = argOf(named(value.directives, 'join__graph')[0]!, 'name');
        if (name?.kind === Kind.STRING) graphOf.set(name.value, value.name.value);
      }
    }
    if (def.kind === Kind.OBJECT_TYPE_DEFINITION || def.kind === Kind.INTERFACE_TYPE_DEFINITION) types.set(def.name.value, def);
  }
  const add = (field: string, graph: string | undefined) => {
    if (graph === undefined) return;
    if (!resolvers.has(field)) resolvers.set(field, new Set());
    resolvers.get(field)!.add(graph);
  };
  const entity = (type: string) => named(types.get(type)?.directives, 'join__type').some((d) => argOf(d, 'key'));
  for (const def of types.values()) {
    const joinTypes = named(def.directives, 'join__type');
    const type = def.name.value;
    for (const d of joinTypes) {
      const key = argOf(d, 'key');
      if (key?.kind === Kind.STRING) for (const f of topLevelFields(key.value)) keyFields.add(`${type}.${f}`);
    }
    for (const field of def.fields ?? []) {
      const joins = named(field.directives, 'join__field');
      const name = `${type}.${field.name.value}`;
      if (joins.length === 0) for (const d of joinTypes) add(name, enumArg(d, 'graph'));
      for (const d of joins) {
        const graph = enumArg(d, 'graph');
        if (!isTrue(d, 'external') && !isTrue(d, 'usedOverridden')) add(name, graph);
        const from = argOf(d, 'override');
        if (from?.kind === Kind.STRING && graph) overrides.push({ field: name, graph, from: from.value });
      }
    }
  }
  return { graphOf, resolvers, keyFields, overrides, entities: new Set([...types.keys()].filter(entity)) };
}

/**
 * Fields that other subgraphs resolved before and `subgraph` would newly
 * resolve or take away (a @shareable copy, an @override, a new @key, an
 * @interfaceObject): the query planner could then route them to
 * it. Composition allows this and clients see no change, but a team's
 * credential must not take over another team's fields. The rule: every field
 * resolvable before stays resolvable by exactly the same subgraphs, except
 * fields `subgraph` already resolved; a field that was a key in the current
 * supergraph may gain `subgraph` (declaring that key). Key fields are read from
 * the current supergraph only: a new @key is no way around the rule.
 */
export function fieldsTakenOver(currentSupergraphSdl: string, nextSupergraphSdl: string, subgraph: string): string[] {
  const before = resolutionOf(currentSupergraphSdl);
  const after = resolutionOf(nextSupergraphSdl);
  const mine = after.graphOf.get(subgraph);
  const minePrev = before.graphOf.get(subgraph);
  if (!mine) return [];
  const taken = new Set<string>();
  const without = (graphs: Set<string> | undefined, graph: string | undefined) => [...(graphs ?? [])].filter((g) => g !== graph).sort();
  // join__Graph values are per supergraph: compare by subgraph name.
  const nameOf = (r: Resolution, graphs: string[]) => graphs.map((g) => [...r.graphOf].find(([, v]) => v === g)?.[0] ?? g).join(',');
  // Value types (no @key before or after) are left out: the planner reads their fields only from the
  // subgraph that returned the object, it cannot jump to another one.
  const reachable = (field: string) => {
    const type = field.slice(0, field.indexOf('.'));
    return ROOTS.includes(type) || before.entities.has(type) || after.entities.has(type);
  };
  for (const [field, previous] of before.resolvers) {
    if (!reachable(field)) continue;
    if (minePrev !== undefined && previous.has(minePrev)) continue; // its own field (or one it shared): it may change it
    const next = after.resolvers.get(field);
    if (!next) continue; // removed: the breaking-change check's business
    const others = nameOf(after, without(next, mine));
    const gained = next.has(mine) && !before.keyFields.has(field);
    if (gained || others !== nameOf(before, [...previous].sort())) taken.add(field);
  }
  // An @override of a field another subgraph resolves now moves it away from that subgraph: refused outright.
  for (const { field, graph, from } of after.overrides) {
    if (graph !== mine || from === subgraph) continue;
    if (without(before.resolvers.get(field), minePrev).length > 0) taken.add(field);
  }
  return [...taken].sort();
}
