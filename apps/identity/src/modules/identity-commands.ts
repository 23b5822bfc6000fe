import { z } from 'zod';
import { defineCommand } from '@usergraph/service-kit';
import type { ApplicationService } from './applications/application-service.js';
import type { CredentialService } from './credentials/credential-service.js';

const id = z.string().min(1).max(64);

export function createIdentityCommands(deps: { applications: ApplicationService; credentials: CredentialService }) {
  return {
    provisionUser: defineCommand(z.looseObject({ organizationId: id }), ({ organizationId, ...rest }) =>
      deps.credentials.provisionUser(organizationId, rest),
    ),
    createApplication: defineCommand(z.looseObject({ organizationId: id }), ({ organizationId, ...rest }) =>
      deps.applications.create(organizationId, rest),
    ),
  };
}
