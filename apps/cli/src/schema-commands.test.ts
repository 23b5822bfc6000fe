import { describe, expect, it } from 'vitest';
import { registryTokenFrom, principalOf } from '@usergraph/service-kit';
import { schemaCommand, UsageError } from './schema-commands.js';

const SECRET = 'registry-secret-for-cli-tests-0123456789';
const noRegistry = { REGISTRY_URL: 'http://127.0.0.1:9', REGISTRY_KEY: 'reader.x' };

describe('usergraph schema: usage', () => {
  it('refuses --allow-breaking without a reason, and a reason without --allow-breaking, before calling the registry', async () => {
    const base = ['publish', '--subgraph', 'loyalty', '--schema', 'x.graphql', '--url', 'http://l/graphql'];
    await expect(schemaCommand([...base, '--allow-breaking'], () => undefined, noRegistry)).rejects.toThrow(UsageError);
    await expect(schemaCommand([...base, '--reason', 'why'], () => undefined, noRegistry)).rejects.toThrow(
      /--reason goes with --allow-breaking/,
    );
  });

  it('names every missing flag, and treats an unknown flag as bad usage', async () => {
    await expect(schemaCommand(['publish', '--subgraph', 'loyalty'], () => undefined, noRegistry)).rejects.toThrow(/--schema, --url/);
    await expect(schemaCommand(['list', '--bogus'], () => undefined, noRegistry)).rejects.toThrow(UsageError);
    await expect(schemaCommand(['frobnicate'], () => undefined, noRegistry)).rejects.toThrow(UsageError);
  });

  it('credential prints a key that proves exactly its principal, and needs REGISTRY_SECRET', async () => {
    const lines: string[] = [];
    expect(await schemaCommand(['credential', '--subgraph', 'loyalty'], (l) => lines.push(l), { REGISTRY_SECRET: SECRET })).toBe(0);
    expect(await principalOf(SECRET, await registryTokenFrom(lines[0]!))).toBe('subgraph:loyalty');
    await expect(schemaCommand(['credential', '--subgraph', 'loyalty'], () => undefined, {})).rejects.toThrow(/REGISTRY_SECRET/);
    await expect(
      schemaCommand(['credential', '--subgraph', 'loyalty', '--reader'], () => undefined, { REGISTRY_SECRET: SECRET }),
    ).rejects.toThrow(UsageError);
  });
});
