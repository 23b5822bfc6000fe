import type mongoose from 'mongoose';

/** One published version of one subgraph. Never changed once written. */
export interface VersionDoc {
  subgraph: string;
  version: number;
  sdl: string;
  url: string;
  action: 'publish' | 'rollback';
  /** For a rollback: the version whose SDL and URL it brought back. */
  rolledBackTo?: number;
  /** The credential that published it (`subgraph:<name>`), and who ran the command, as they said. */
  publishedBy: string;
  actor?: string;
  publishedAt: Date;
  message?: string;
  commit?: string;
  /** Breaking changes for clients this version made, and the reason they were let through. */
  breakingChanges: Array<{ type: string; path?: string; message: string }>;
  allowBreakingReason?: string;
  /**
   * The supergraph revision this version went live in, set once that revision
   * is written; absent on a version that never went live (a crash or CONFLICT
   * between the two writes).
   */
  revision?: number;
}

/**
 * One composed supergraph. The latest revision is what the gateways serve
 * and is the only record of each subgraph's current version, so a crash
 * between the two writes of a publish leaves an unused version, never a
 * supergraph whose parts are unknown.
 */
export interface SupergraphDoc {
  revision: number;
  sdl: string;
  subgraphs: Array<{ name: string; version: number; url: string }>;
  createdAt: Date;
}

export function registryCollections(conn: mongoose.Connection) {
  const db = conn.db;
  if (!db) throw new Error('registry: the database connection is not open');
  return {
    versions: db.collection<VersionDoc>('versions'),
    supergraphs: db.collection<SupergraphDoc>('supergraphs'),
  };
}

export type RegistryCollections = ReturnType<typeof registryCollections>;

export async function ensureIndexes(c: RegistryCollections): Promise<void> {
  // Unique: two registries publishing at once cannot both write the same version or revision.
  await c.versions.createIndex({ subgraph: 1, version: -1 }, { unique: true });
  await c.supergraphs.createIndex({ revision: -1 }, { unique: true });
}

export const latestSupergraph = (c: RegistryCollections) => c.supergraphs.findOne({}, { sort: { revision: -1 } });

/** The latest revision number only: what a gateway's poll costs when nothing changed. */
export async function latestRevision(c: RegistryCollections): Promise<number | undefined> {
  const doc = await c.supergraphs.findOne({}, { sort: { revision: -1 }, projection: { revision: 1 } });
  return doc?.revision;
}

export async function nextVersion(c: RegistryCollections, subgraph: string): Promise<number> {
  const last = await c.versions.findOne({ subgraph }, { sort: { version: -1 }, projection: { version: 1 } });
  return (last?.version ?? 0) + 1;
}

export const findVersion = (c: RegistryCollections, subgraph: string, version: number) => c.versions.findOne({ subgraph, version });

/**
 * History's versions with the revision each went live in. A crash between the
 * supergraph write and the version's update leaves a live version without
 * one: it is found in the supergraphs (the only record of what went live).
 */
export async function withRevisions<V extends { version: number; revision?: number }>(
  c: RegistryCollections,
  subgraph: string,
  versions: V[],
): Promise<V[]> {
  return Promise.all(
    versions.map(async (v) => {
      if (v.revision !== undefined) return v;
      // Dotted paths, then the exact pair in code (the embedded store answered $elemMatch here with an error).
      const candidates = c.supergraphs.find(
        { 'subgraphs.name': subgraph, 'subgraphs.version': v.version },
        { sort: { revision: 1 }, projection: { revision: 1, subgraphs: 1 } },
      );
      let first: { revision: number } | undefined;
      for await (const doc of candidates) {
        if (doc.subgraphs.some((s) => s.name === subgraph && s.version === v.version)) {
          first = doc;
          break;
        }
      }
      await candidates.close();
      return first ? { ...v, revision: first.revision } : v;
    }),
  );
}
