/**
 * Issue 13: what parsing an internal command's answer with its contract's
 * output schema costs on the calling side, per call, in this process (no
 * stack needed):
 *
 *   node bench/dist/contract-parse.js '{"seconds":1}'
 *
 * For each answer: the output parse (`validate(contract.output, ...)`, what
 * `client.call` adds) next to JSON.parse of the same body (what every call
 * already paid). Microseconds per call, median of 20 slices. Prints one line of JSON.
 */
import { identityCommands, licensingCommands, orgUsersCommands, type CommandContract } from '@usergraph/contracts';
import { validate } from '@usergraph/validation';
import { readConfigArg } from './util.js';

export interface ContractParseConfig {
  /** Seconds spent timing each answer. */
  seconds: number;
}

/** A full profile, the largest answer: every field set, two addresses, two agreements. */
const address = {
  _id: '65f0c0ffee0000000000beef',
  description: 'Home',
  firstName: 'Jeanne',
  lastName: 'Tremblay',
  addressLine1: '1867 rue Sherbrooke Ouest',
  addressLine2: 'Appartement 4',
  streetNumber: '1867',
  city: 'Montréal',
  state: 'Québec',
  stateCode: 'QC',
  postCode: 'H3A 1E2',
  country: 'Canada',
  alpha2: 'CA',
  type: 'HOME',
};
const profile = {
  id: '65f0c0ffee0000000000c0de',
  organizationId: '65f0c0ffee0000000000a11c',
  email: 'jeanne.tremblay@example.ca',
  phoneNumber: '+15145550123',
  firstName: 'Jeanne',
  lastName: 'Tremblay',
  name: 'Jeanne Tremblay',
  status: 'ACTIVE',
  organisation: 'Érable & Fils',
  taxNumber: '123456789RT0001',
  dateOfBirth: '1990-07-01',
  isSubscribed: true,
  addresses: [address, { ...address, description: 'Work', type: 'WORK' }],
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-02-01T00:00:00.000Z',
  syncedAt: '2026-02-01T00:00:00.000Z',
  closedAt: null,
  emailVerified: true,
  jobTitle: 'Directrice',
  legalName: { first: 'Jeanne', middle: 'Marie', last: 'Tremblay' },
  nationalIdLast4: '6789',
  visitorId: 'v-2f9c1a',
  notificationPreferences: { email: true, sms: false, push: false },
  legalAgreementVersions: [
    { version: '2025-01', acceptedAt: '2026-01-01T00:00:00.000Z' },
    { version: '2026-01', acceptedAt: '2026-02-01T00:00:00.000Z' },
  ],
};

const ANSWERS: Record<string, { contract: CommandContract; value: unknown }> = {
  'getProfile (a full profile)': { contract: orgUsersCommands.getProfile, value: profile },
  'existingUserIds (500 ids)': {
    contract: orgUsersCommands.existingUserIds,
    value: { userIds: Array.from({ length: 500 }, (_, i) => i.toString(16).padStart(24, '0')) },
  },
  getUserLicenses: {
    contract: licensingCommands.getUserLicenses,
    value: { id: profile.id, licenses: ['AUTHOR', 'ADMIN'], groups: ['DEFAULT', 'REBELS'], originGroup: 'DEFAULT', supportAdmin: false },
  },
  callerStatus: { contract: identityCommands.callerStatus, value: { live: true, permissions: ['users:register'] } },
};

/** Microseconds per call of `fn`: the median of 20 slices of `seconds / 20` each. */
function time(fn: () => void, seconds: number): number {
  const slices: number[] = [];
  for (let i = 0; i < 20_000; i++) fn(); // warm-up: zod compiles an object schema after its first parses
  for (let s = 0; s < 20; s++) {
    const end = performance.now() + (seconds * 1000) / 20;
    let calls = 0;
    const start = performance.now();
    while (performance.now() < end) {
      for (let i = 0; i < 100; i++) fn();
      calls += 100;
    }
    slices.push(((performance.now() - start) * 1000) / calls);
  }
  slices.sort((a, b) => a - b);
  return Number(slices[10]!.toFixed(2));
}

const config: ContractParseConfig = {
  seconds: 1,
  ...(process.argv[2] ? readConfigArg<Partial<ContractParseConfig>>(process.argv[2]) : {}),
};
const results: Record<string, { bytes: number; jsonParseUs: number; outputParseUs: number }> = {};
for (const [label, { contract, value }] of Object.entries(ANSWERS)) {
  const body = JSON.stringify(value);
  const parsedJson: unknown = JSON.parse(body);
  if (!validate(contract.output, parsedJson).ok) throw new Error(`${label}: the sample breaks its contract`);
  results[label] = {
    bytes: body.length,
    jsonParseUs: time(() => JSON.parse(body), config.seconds),
    outputParseUs: time(() => validate(contract.output, parsedJson), config.seconds),
  };
}
process.stdout.write(`${JSON.stringify({ ...config, results })}\n`);
