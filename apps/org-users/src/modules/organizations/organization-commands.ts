import { z } from 'zod';
import { defineCommand } from '@usergraph/service-kit';
import { slugSchema } from '@usergraph/validation';
import type { OrganizationService } from './organization-service.js';

export function createOrganizationCommands(organizations: OrganizationService) {
  return {
    ensureOrganization: defineCommand(
      // Self-signup is off unless the caller asks for it (issue 12, finding 3).
      z.object({ slug: slugSchema, name: z.string().trim().min(1).max(200), selfSignup: z.boolean().default(false) }),
      (input) => organizations.ensure(input),
      { callers: ['cli'] },
    ),
    getOrganization: defineCommand(
      z.union([z.object({ slug: z.string().max(100) }), z.object({ id: z.string().max(64) })]),
      (input) => ('slug' in input ? organizations.getBySlug(input.slug) : organizations.getById(input.id)),
      { callers: ['identity'] },
    ),
  };
}
