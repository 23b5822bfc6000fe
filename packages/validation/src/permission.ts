import { z } from 'zod';
import { human } from './error-map.js';

// The permissions a caller's token may carry, checked by the subgraphs.
export const PERMISSIONS = ['users:register', 'organization-users:write', 'organization-users:read'] as const;
export type Permission = (typeof PERMISSIONS)[number];

export const permissionSchema = z.enum(PERMISSIONS, human);
