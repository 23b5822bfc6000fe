import { z } from 'zod';
import { loadEnv } from '@usergraph/service-kit';

const optional = z.string().optional();

/**
 * What `usergraph schema` reads: the registry to reach and the key to use, the dev stack's
 * secrets (values set here win over .data/secrets.json), and the CI's actor and commit for the record.
 */
export const schemaEnvSchema = z.object({
  REGISTRY_URL: optional,
  REGISTRY_KEY: optional,
  REGISTRY_SECRET: optional,
  USERGRAPH_DATA_DIR: optional,
  INTERNAL_SERVICE_SECRET: optional,
  SIGNING_KEY_ENCRYPTION_KEY: optional,
  NATIONAL_ID_ENCRYPTION_KEY: optional,
  GITHUB_ACTOR: optional,
  GITLAB_USER_LOGIN: optional,
  USER: optional,
  GITHUB_SHA: optional,
  CI_COMMIT_SHA: optional,
});

export type SchemaEnv = z.output<typeof schemaEnvSchema>;

export const loadSchemaEnv = (): SchemaEnv => loadEnv(schemaEnvSchema, 'usergraph schema');

/** What `usergraph backup` and `restore` read: the data directory, and MONGODB_URI to refuse (MongoDB is backed up with mongodump). */
export const backupEnvSchema = z.object({ USERGRAPH_DATA_DIR: optional, MONGODB_URI: optional });

export const loadBackupEnv = (command: string) => loadEnv(backupEnvSchema, `usergraph ${command}`);

/** What the services may read from `npm start`'s environment: each takes the variables its own schema documents. */
export const passThroughEnv = (): NodeJS.ProcessEnv => process.env;

/** What `usergraph service-key` reads: the root secret, else the dev stack's (.data/secrets.json). */
export const serviceKeyEnvSchema = z.object({
  // As the subgraphs require it: a short or empty value would print the key of a root no subgraph holds.
  INTERNAL_SERVICE_SECRET: z.string().min(32, { error: 'must be at least 32 characters' }).optional(),
  USERGRAPH_DATA_DIR: optional,
});

export type ServiceKeyEnv = z.output<typeof serviceKeyEnvSchema>;

export const loadServiceKeyEnv = (): ServiceKeyEnv => loadEnv(serviceKeyEnvSchema, 'usergraph service-key');
