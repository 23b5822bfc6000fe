import { identityCommands, orgUsersCommands } from '@usergraph/contracts';
import { parseArgs } from 'node:util';
import { DomainError } from '@usergraph/service-kit';
import { validate, type Permission } from '@usergraph/validation';
import type { StackClient } from './stack-client.js';

export interface BootstrapResult {
  organization: { id: string; slug: string };
  admin: { id: string };
  application: { clientId: string; clientSecret: string };
}

const USAGE = `usage: usergraph bootstrap --org-slug <slug> --org-name <name> --admin-email <email>
       --admin-username <username> --admin-password <password>
       [--admin-first-name <name>] [--admin-last-name <name>]
       [--permissions users:register,organization-users:write,organization-users:read]
       [--app-name <name>] [--self-signup | --no-self-signup] [--support-admin] [--json]

Self-signup (B's anonymous register into this organization) is off unless --self-signup is given.`;

/** The application's permissions, checked before anything is created (identity checks them again). */
function parsePermissions(list: string): Permission[] {
  const checked = validate(
    identityCommands.createApplication.input.shape.permissions,
    list
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean),
    ['permissions'],
  );
  if (!checked.ok) throw new DomainError('BAD_USER_INPUT', 'Invalid --permissions', checked.errors);
  return checked.value;
}

export function parseBootstrapArgs(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      'org-slug': { type: 'string' },
      'org-name': { type: 'string' },
      'admin-email': { type: 'string' },
      'admin-username': { type: 'string' },
      'admin-password': { type: 'string' },
      'admin-first-name': { type: 'string', default: 'Organization' },
      'admin-last-name': { type: 'string', default: 'Admin' },
      permissions: { type: 'string', default: 'users:register,organization-users:write,organization-users:read' },
      'app-name': { type: 'string', default: 'Default application' },
      // Off unless asked for (issue 12, finding 3): a stranger who signs up is inside the organization.
      'self-signup': { type: 'boolean', default: false },
      'no-self-signup': { type: 'boolean', default: false },
      'support-admin': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const required = ['org-slug', 'org-name', 'admin-email', 'admin-username', 'admin-password'] as const;
  const missing = required.filter((k) => !values[k]);
  if (missing.length > 0) throw new Error(`missing ${missing.map((m) => `--${m}`).join(', ')}\n${USAGE}`);
  if (values['self-signup'] && values['no-self-signup'])
    throw new Error(`--self-signup and --no-self-signup contradict each other\n${USAGE}`);
  return {
    orgSlug: values['org-slug']!,
    orgName: values['org-name']!,
    adminEmail: values['admin-email']!,
    adminUsername: values['admin-username']!,
    adminPassword: values['admin-password']!,
    adminFirstName: values['admin-first-name'],
    adminLastName: values['admin-last-name'],
    permissions: parsePermissions(values.permissions),
    appName: values['app-name'],
    selfSignup: values['self-signup'],
    supportAdmin: values['support-admin'],
    json: values.json,
  };
}

/**
 * Creates an organization, its first admin (ADMIN license) and an
 * application, through each owning service's internal commands.
 */
export async function bootstrap(stack: StackClient, args: ReturnType<typeof parseBootstrapArgs>): Promise<BootstrapResult> {
  const { organization } = await stack.orgUsers.call(orgUsersCommands.ensureOrganization, {
    slug: args.orgSlug,
    name: args.orgName,
    selfSignup: args.selfSignup,
  });
  // The first admin is one creation saga in identity (profile, credentials, ADMIN license, activate): one undo for all of it.
  const admin = await stack.identity.call(identityCommands.provisionUser, {
    organizationId: organization.id,
    email: args.adminEmail,
    username: args.adminUsername,
    password: args.adminPassword,
    firstName: args.adminFirstName,
    lastName: args.adminLastName,
    licenses: {
      requestedLicenses: ['ADMIN'],
      requestedGroups: ['DEFAULT'],
      requestedOriginGroup: 'DEFAULT',
      supportAdmin: args.supportAdmin,
    },
  });
  const application = await stack.identity.call(identityCommands.createApplication, {
    organizationId: organization.id,
    name: args.appName,
    permissions: args.permissions,
  });
  return {
    organization: { id: organization.id, slug: organization.slug },
    admin: { id: admin.userId },
    application: { clientId: application.clientId, clientSecret: application.clientSecret },
  };
}

/** A domain failure as one readable line, with its field errors. */
export function describeFailure(err: unknown): string {
  if (err instanceof DomainError) {
    const fields = err.fields.map((f) => `\n  - ${f.path.join('.')}: ${f.message}`).join('');
    return `${err.code}: ${err.message}${fields}`;
  }
  return err instanceof Error ? err.message : String(err);
}
