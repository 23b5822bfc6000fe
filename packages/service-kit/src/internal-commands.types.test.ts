import { describe, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { commandsOf, identityCommands, licensingCommands, orgUsersCommands, profileSchema } from '@usergraph/contracts';
import { createInternalClient, serve, type InternalClient } from './internal-commands.js';

/**
 * Issue 13: an internal command is typed by its contract on both sides. These
 * are compile-time checks: `npm run typecheck` fails if a `@ts-expect-error`
 * line below stops being an error, or if an `expectTypeOf` does not hold.
 */
const demo = commandsOf('org-users', {
  rename: {
    input: z.object({ userId: z.string(), name: z.string().trim(), notify: z.boolean().default(false) }),
    output: z.object({ userId: z.string(), name: z.string(), renamedAt: z.string() }),
    callers: ['identity'],
  },
});

describe('internal command types (checked by tsc)', () => {
  it('the handler gets the parsed input, and must return what the output schema accepts', () => {
    serve(demo.rename, async (input) => {
      // Defaults are applied before the handler runs.
      expectTypeOf(input).toEqualTypeOf<{ userId: string; name: string; notify: boolean }>();
      return { userId: input.userId, name: input.name, renamedAt: new Date().toISOString() };
    });
    // @ts-expect-error: renamedAt is missing
    serve(demo.rename, async (input) => ({ userId: input.userId, name: input.name }));
    // @ts-expect-error: renamedAt must be a string (JSON), not a Date
    serve(demo.rename, async (input) => ({ userId: input.userId, name: input.name, renamedAt: new Date() }));
    // @ts-expect-error: a handler reads only fields its contract declares
    serve(demo.rename, async (input) => ({ userId: input.userId, name: input.email, renamedAt: '' }));
  });

  it('a call takes the contract input and returns the contract output', async () => {
    const client = createInternalClient({ from: 'identity', to: 'org-users', baseUrl: 'http://127.0.0.1:1', secret: 's' });
    expectTypeOf(client).toExtend<InternalClient<'org-users'>>();
    const call = () => client.call(demo.rename, { userId: 'u', name: 'Ada' });
    expectTypeOf(call).returns.resolves.toEqualTypeOf<{ userId: string; name: string; renamedAt: string }>();
    // @ts-expect-error: name is required
    const missing = () => client.call(demo.rename, { userId: 'u' });
    // @ts-expect-error: userId must be a string
    const wrongType = () => client.call(demo.rename, { userId: 1, name: 'Ada' });
    // @ts-expect-error: the org-users client cannot call identity's commands
    const wrongService = () => client.call(identityCommands.usernameOwner, { organizationId: 'o', username: 'ada' });
    expectTypeOf(orgUsersCommands.getProfile.output).toEqualTypeOf(profileSchema);
    const licensing = createInternalClient({ from: 'org-users', to: 'licensing', baseUrl: 'http://127.0.0.1:1', secret: 's' });
    const held = () => licensing.call(licensingCommands.getUserLicenses, { organizationId: 'o', userId: 'u' });
    expectTypeOf(held).returns.resolves.toHaveProperty('licenses').toEqualTypeOf<Array<'VIEWER' | 'AUTHOR' | 'ANALYST' | 'ADMIN'>>();
    await Promise.all([client.close(), licensing.close()]);
    expectTypeOf([missing, wrongType, wrongService]).toBeArray();
  });
});
