/**
 * The session and password operations the session tests send (session-lifecycle-crash, session-races), for a
 * self-signup organization `acme`.
 */
export const ME = '{ me { id } }';
export const REFRESH = `mutation($t: String!) { refreshSession(refreshToken: $t) { _id jwt refreshToken } }`;
export const CHANGE = 'mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) { success } }';
export const REQUEST_RESET = `mutation($e: String!) { requestPasswordReset(organizationSlug: "acme", email: $e) { success } }`;
export const RESET = `mutation($e: String!, $c: String!, $n: String!) {
  resetPassword(organizationSlug: "acme", email: $e, code: $c, newPassword: $n) { success }
}`;
