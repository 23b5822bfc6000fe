import { readFileSync } from 'node:fs';
import { parse, type DocumentNode } from 'graphql';

const FEDERATION_LINK =
  'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@shareable", "@external", "@provides", "@requires"])';

/**
 * A subgraph's SDL: the federation link, then each module's .graphql file
 * (paths relative to `baseUrl`, usually the app's schema.ts). The same SDL
 * serves the running subgraph and the composition check.
 */
export function loadSubgraphTypeDefs(baseUrl: string | URL, files: string[], rootTypes: string[] = []): DocumentNode {
  const sdl = files.map((file) => readFileSync(new URL(file, baseUrl), 'utf8'));
  return parse([FEDERATION_LINK, ...rootTypes, ...sdl].join('\n\n'));
}

/** Type name to its resolvers (an object of fields, or a scalar's GraphQLScalarType). */
type ResolverMap = Record<string, unknown>;

/**
 * Merges each module's resolver map by type name (buildSubgraphSchema takes
 * one map), refusing to let one module silently replace another's resolver.
 */
export function mergeResolvers(maps: ResolverMap[]): ResolverMap {
  const merged: ResolverMap = {};
  for (const map of maps) {
    for (const [typeName, fields] of Object.entries(map)) {
      const existing = merged[typeName];
      if (existing === undefined) {
        merged[typeName] = typeof fields === 'object' && fields !== null && !isScalar(fields) ? { ...fields } : fields;
        continue;
      }
      if (isScalar(fields) || isScalar(existing)) {
        if (existing !== fields) throw new Error(`Two modules define the scalar ${typeName} differently`);
        continue;
      }
      for (const [field, resolver] of Object.entries(fields as Record<string, unknown>)) {
        const target = existing as Record<string, unknown>;
        if (field in target) throw new Error(`Two modules resolve ${typeName}.${field}`);
        target[field] = resolver;
      }
    }
  }
  return merged;
}

/** A GraphQLScalarType instance (e.g. DateTimeResolver) rather than a map of field resolvers. */
function isScalar(value: unknown): boolean {
  return typeof value === 'object' && value !== null && (value as { constructor?: { name?: string } }).constructor?.name === 'GraphQLScalarType';
}
