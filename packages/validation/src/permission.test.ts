import { describe, expect, it } from 'vitest';
import { PERMISSIONS, permissionSchema } from './permission.js';
import { messageOf, valueOf } from './test-support/helpers.js';

describe('permissionSchema', () => {
  it.each([...PERMISSIONS])('accepts %s', (p) => {
    expect(valueOf(permissionSchema, p)).toBe(p);
  });

  it.each(['users:delete', 'USERS:REGISTER', 'organization-users:*', '', 7, { $ne: null }])('rejects %j', (p) => {
    expect(messageOf(permissionSchema, p)).toBe(
      'must be one of users:register, organization-users:write, organization-users:read, organization-users:admin',
    );
  });
});
