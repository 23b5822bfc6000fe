import { orgUsersCommands as c } from '@usergraph/contracts';
import { serve } from '@usergraph/service-kit';
import type { OrganizationService } from './organization-service.js';

export function createOrganizationCommands(organizations: OrganizationService) {
  return [
    serve(c.ensureOrganization, (input) => organizations.ensure(input)),
    serve(c.getOrganization, (input) => ('slug' in input ? organizations.getBySlug(input.slug) : organizations.getById(input.id))),
  ];
}
