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

/**
 * Merges each module's resolver map by type name (buildSubgraphSchema takes
 * one map), refusing to let one module silently replace another's resolver.
 * Each app types its maps with its generated `Resolvers` (see docs/architecture.md),
 * and the merged map has that same type.
 */
export function mergeResolvers<R extends object>(maps: readonly R[]): R {
  const merged: Record<string, unknown> = {};
  for (const map of maps) {
    for (const [typeName, fields] of Object.entries(map) as Array<[string, unknown]>) {
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
  // Same type names and fields as the inputs, one entry each: the shape R describes.
  return merged as R;
}

/** A GraphQLScalarType instance (e.g. DateTimeResolver) rather than a map of field resolvers. */
function isScalar(value: unknown): boolean {
  return (
    typeof value === 'object' && value !== null && (value as { constructor?: { name?: string } }).constructor?.name === 'GraphQLScalarType'
  );
}
