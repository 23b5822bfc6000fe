import { z } from 'zod';
import { human } from './error-map.js';

// The permissions a caller's token may carry, checked by the subgraphs.
// organization-users:admin (grant or take ADMIN, act on an ADMIN's account) is
// never a default: an ADMIN user must give it to an application explicitly.
export const PERMISSIONS = ['users:register', 'organization-users:write', 'organization-users:read', 'organization-users:admin'] as const;
export type Permission = (typeof PERMISSIONS)[number];

export const permissionSchema = z.enum(PERMISSIONS, human);
