import { describe, expect, it } from 'vitest';
import { sessionStands } from './credential-repository.js';

describe('sessionStands', () => {
  it('a session stands under its generation or a later one, or as the kept login; absent generations are 0', () => {
    expect(sessionStands({ familyId: 'f' }, {})).toBe(true);
    expect(sessionStands({ familyId: 'f', credentialsGeneration: 2 }, { sessionsGeneration: 2 })).toBe(true);
    expect(sessionStands({ familyId: 'f', credentialsGeneration: 3 }, { sessionsGeneration: 2 })).toBe(true);
    expect(sessionStands({ familyId: 'f', credentialsGeneration: 1 }, { sessionsGeneration: 2 })).toBe(false);
    expect(sessionStands({ familyId: 'f' }, { sessionsGeneration: 1 })).toBe(false);
    expect(sessionStands({ familyId: 'f' }, { sessionsGeneration: 1, keptFamilyId: 'f' })).toBe(true);
    expect(sessionStands({ familyId: 'g' }, { sessionsGeneration: 1, keptFamilyId: 'f' })).toBe(false);
  });
});
