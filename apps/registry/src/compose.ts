import { composeServices } from '@apollo/composition';
import { Supergraph } from '@apollo/federation-internals';
import { diff, CriticalityLevel } from '@graphql-inspector/core';
import { parse, type DocumentNode, type GraphQLSchema } from 'graphql';

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
    return { ok: false, errors: result.errors.map((e) => ({ code: String(e.extensions.code ?? 'COMPOSITION_ERROR'), message: e.message })) };
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
  return changes.map((c) => ({
    level: c.criticality.level === CriticalityLevel.Breaking ? 'BREAKING' : c.criticality.level === CriticalityLevel.Dangerous ? 'DANGEROUS' : 'NON_BREAKING',
    type: c.type,
    ...(c.path ? { path: c.path } : {}),
    message: c.message,
  }));
}
