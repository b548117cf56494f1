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

/** The server knows no document by that id (it runs another build's manifest). */
const NOT_FOUND = 'PERSISTED_QUERY_NOT_FOUND';

/**
 * A generated document as a request names it: by its id in the manifest the server trusts
 * (`documentId`, codegen's `persistedDocuments`), or by its text too, for a server that does
 * not know the id.
 */
export function documentParams<R, V>(
  document: TypedDocumentString<R, V>,
  withText = false,
): { documentId: string; query?: string } | { query: string } {
  const documentId = document.__meta__?.hash as string | undefined;
  if (documentId === undefined) return { query: document.toString() };
  return withText ? { documentId, query: document.toString() } : { documentId };
}

/**
 * POSTs a generated document, by its id, with its typed variables; resolves to its typed data.
 * A server that does not know the id gets the text too, once.
 */
export async function request<R, V>(
  document: TypedDocumentString<R, V>,
  variables: V,
  token: string,
): Promise<R> {
  const post = async (withText: boolean): Promise<Response<R>> => {
    const response = await fetch(GRAPHQL_PATH, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ ...documentParams(document, withText), variables }),
    });
    if (!response.ok) {
      throw new RequestError(`HTTP ${response.status}`, undefined);
    }
    return (await response.json()) as Response<R>;
  };
  let body = await post(false);
  if (body.errors?.[0]?.extensions?.code === NOT_FOUND) body = await post(true);
  const error = body.errors?.[0];
  if (error) {
    throw new RequestError(error.message, error.extensions?.code);
  }
  if (!body.data) {
    throw new RequestError('The server answered without data.', undefined);
  }
  return body.data;
}
