import type { TypedDocumentString } from '../gql/graphql';

/** Where the server answers GraphQL: the page is served by it, so the same origin. */
export const GRAPHQL_PATH = '/graphql';

export function graphqlWebSocketUrl(): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}${GRAPHQL_PATH}`;
}

/** A GraphQL error the server answered with, or an HTTP failure. */
export class RequestError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

interface Response<R> {
  data?: R | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

/** POSTs a generated document with its typed variables; resolves to its typed data. */
export async function request<R, V>(
  document: TypedDocumentString<R, V>,
  variables: V,
  token: string,
): Promise<R> {
  const response = await fetch(GRAPHQL_PATH, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: document.toString(), variables }),
  });
  if (!response.ok) {
    throw new RequestError(`HTTP ${response.status}`, undefined);
  }
  const body = (await response.json()) as Response<R>;
  const error = body.errors?.[0];
  if (error) {
    throw new RequestError(error.message, error.extensions?.code);
  }
  if (!body.data) {
    throw new RequestError('The server answered without data.', undefined);
  }
  return body.data;
}
