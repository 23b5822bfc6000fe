/** C-register-user-error-codes.txt: the curl example's query text, verbatim. */
export const C_REGISTER_USER =
  'mutation RegisterUser($firstName: String!, $lastName: String!, $phoneNumber: String!, $regionCode: ' +
  'String!, $emailAddress: String!, $dateOfBirth: String!) { registerUser(firstName: $firstName, ' +
  'lastName: $lastName, phoneNumber: $phoneNumber, regionCode: $regionCode, emailAddress: ' +
  '$emailAddress, dateOfBirth: $dateOfBirth) { success error { code message } } }';

/** The seed's variables; its 555-123-4567 is a fictional number (AUTH-0004). */
export const C_SEED_VARIABLES = {
  firstName: 'Jane',
  lastName: 'Doe',
  phoneNumber: '5551234567',
  regionCode: 'US',
  emailAddress: 'jane.doe@example.com',
  dateOfBirth: '1990-05-15',
};
