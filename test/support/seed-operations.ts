/**
 * Operation texts exactly as the seeds in ../shared/seeds show them. Tests
 * send these verbatim, with realistic values in their variables.
 */

/** B-register-account-session.txt, "register Mutation". */
export const B_REGISTER = `mutation register(
$email: String!
$password: String!
$firstName: String!
$lastName: String!
$telephone: String
$organisation: String
$taxNumber: String
$withVerificationCode: Boolean
$addresses: [AddressInput!]
) {
register(
email: $email
password: $password
firstName: $firstName
lastName: $lastName
telephone: $telephone
organisation: $organisation
taxNumber: $taxNumber
withVerificationCode: $withVerificationCode
addresses: $addresses
) {
user {
_id
id
firstName
lastName
name
email
telephone
taxNumber
organisation
isSubscribed
}
session {
_id
jwt
expires
}
message
}
}`;

/** B's variables block verbatim: its values are placeholders (CONTRACTS.md). */
export const B_PLACEHOLDER_VARIABLES = {
  email: 'email@example.com',
  password: 'password',
  firstName: 'John',
  lastName: 'Doe',
  telephone: 'telephone',
  organisation: 'organisation',
  taxNumber: 'taxNumber',
  withVerificationCode: true,
  addresses: [
    {
      _id: 'be950229f9027624408247d5',
      description: 'A description',
      firstName: 'John',
      lastName: 'Doe',
      addressLine1: 'addressLine1',
      addressLine2: 'addressLine2',
      streetNumber: 'streetNumber',
      city: 'Montreal',
      state: 'Quebec',
      stateCode: 'stateCode',
      postCode: 'postCode',
      country: 'Canada',
      alpha2: 'alpha2',
      type: 'type',
    },
  ],
};

/** The same shape with realistic values. */
export function realisticRegisterVariables(email: string) {
  return {
    email,
    password: 'maple-Syrup-1867!',
    firstName: 'Jeanne',
    lastName: 'Tremblay',
    telephone: '+1 514 555 0142',
    organisation: 'Tremblay Designs',
    taxNumber: '123456789RT0001',
    withVerificationCode: false,
    addresses: [
      {
        description: 'Studio',
        firstName: 'Jeanne',
        lastName: 'Tremblay',
        addressLine1: '4200 Boulevard Saint-Laurent',
        addressLine2: 'Suite 300',
        streetNumber: '4200',
        city: 'Montreal',
        state: 'Quebec',
        stateCode: 'QC',
        postCode: 'H2W 2R2',
        country: 'Canada',
        alpha2: 'CA',
        type: 'shipping',
      },
    ],
  };
}
