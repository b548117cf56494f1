import 'graphiql/graphiql.css';
import './style.css';

import { GraphiQL } from 'graphiql';
import { getOperationAST, parse } from 'graphql';
import { createClient, type ExecutionResult } from 'graphql-ws';
import { type ComponentProps, createElement } from 'react';
import { createRoot } from 'react-dom/client';

import { GRAPHQL_PATH, graphqlWebSocketUrl } from '../app/api';

type Fetcher = ComponentProps<typeof GraphiQL>['fetcher'];
type Params = Parameters<Fetcher>[0];
type Options = NonNullable<Parameters<Fetcher>[1]>;

const TOKEN_KEY = 'chatstore:token';
const tokenInput = document.getElementById('token') as HTMLInputElement;

// The token field starts from `#token=…` in the URL, else from the last one pasted here.
const fromFragment = new URLSearchParams(location.hash.slice(1));
tokenInput.value = fromFragment.get('token') ?? localStorage.getItem(TOKEN_KEY) ?? '';
tokenInput.addEventListener('input', () => localStorage.setItem(TOKEN_KEY, tokenInput.value.trim()));
document.getElementById('token-bar')!.addEventListener('submit', (event) => event.preventDefault());

/** The Headers pane as sent, plus the token field's Authorization unless the pane sets one. */
function headersFor(options: Options | undefined): Record<string, string> {
  const headers: Record<string, string> = { ...(options?.headers ?? {}) };
  const token = tokenInput.value.trim().replace(/^Bearer\s+/i, '');
  const hasAuthorization = Object.keys(headers).some((name) => name.toLowerCase() === 'authorization');
  if (token && !hasAuthorization) headers.Authorization = `Bearer ${token}`;
  return headers;
}

function isSubscription(params: Params, options: Options | undefined): boolean {
  try {
    const document = options?.documentAST ?? parse(params.query);
    return getOperationAST(document, params.operationName)?.operation === 'subscription';
  } catch {
    return false; // the server reports the syntax error
  }
}

/** One WebSocket per subscription, its `connection_init` payload carrying the headers. */
async function* subscribe(params: Params, headers: Record<string, string>): AsyncGenerator<ExecutionResult> {
  const client = createClient({
    url: graphqlWebSocketUrl(),
    connectionParams: headers,
    lazy: true,
    retryAttempts: 0,
  });
  try {
    const results = client.iterate({
      query: params.query,
      variables: params.variables ?? undefined,
      operationName: params.operationName ?? undefined,
    });
    // GraphiQL only displays the results, so their serialized (formatted) errors will do.
    for await (const result of results) yield result as ExecutionResult;
  } catch (error) {
    const code = (error as { code?: number }).code;
    const reason = (error as { reason?: string }).reason;
    const message = code === undefined ? String(error) : `WebSocket closed: ${code} ${reason ?? ''}`;
    yield { errors: Array.isArray(error) ? error : [{ message }] } as ExecutionResult;
  } finally {
    await client.dispose();
  }
}

const fetcher: Fetcher = async (params, options) => {
  const headers = headersFor(options);
  if (isSubscription(params, options)) return subscribe(params, headers);
  const response = await fetch(GRAPHQL_PATH, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
    body: JSON.stringify(params),
  });
  return response.json();
};

const DEFAULT_QUERY = `# Paste a token above, then run (Ctrl-Enter).
query MySessions {
  sessionCount
  sessions(limit: 10) {
    id
    title
    revision
    messageCount
  }
}
`;

createRoot(document.getElementById('graphiql')!).render(
  createElement(GraphiQL, {
    fetcher,
    defaultQuery: DEFAULT_QUERY,
    query: fromFragment.get('query') ?? undefined,
    variables: fromFragment.get('variables') ?? undefined,
  }),
);
