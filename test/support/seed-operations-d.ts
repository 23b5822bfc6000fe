/**
 * D-org-user-admin-licenses-groups.txt. createUser's example with its
 * placeholder annotations (<STRING>, Array<...>) removed and its unclosed
 * brace closed; the other operations are verbatim.
 */
export const D_CREATE_USER_EXAMPLE = `mutation {
  createUser(
    input: {
      user: {
        firstName: "Luke",
        lastName: "Skywalker",
        credentials: {
          username: "luke_skywalker",
          password: "womprats!1977"
        },
        email: "luke.skywalker@jedi.org"
        },
      requestedOriginGroup: "DEFAULT"
      requestedLicenses: [VIEWER],
      requestedGroups: ["DEFAULT", "JEDI", "REBEL"]
      }) {
    errors {
      path
      message
      fullMessage
    }
    user {
      id
      username
      email
    }
  }
}`;

export const D_FETCH_MEMBERS = `query FetchMembers($fullText: String, $first: Int!) {
  viewer {
    currentOrganization {
      members(fullText: $fullText, first: $first)
        {
        nodes {
          firstName
          lastName
          username
          email
        }
      }              
    }
  }
}`;

export const D_USERS = `{
  users(
      fullText: "luke@jedi.org"
      first: 1
  )
   {
    errors {
      fullMessage
    }
    nodes {
      id
      firstName
      lastName
      username
      email
    }
    totalCount
  }
}`;
