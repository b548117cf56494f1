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

// The token is a header like the Headers pane's, so it is kept as GraphiQL keeps headers: in
// GraphiQL's namespace of localStorage, only while its "Persist headers" setting is on, and
// its "Clear data" removes it.
const NAMESPACE = 'graphiql:';
const TOKEN_KEY = `${NAMESPACE}chatstore-token`;
const PERSIST_HEADERS_KEY = `${NAMESPACE}shouldPersistHeaders`;
const tokenInput = document.getElementById('token') as HTMLInputElement;

const persistingHeaders = (): boolean => localStorage.getItem(PERSIST_HEADERS_KEY) === 'true';

function keepToken(): void {
  const token = tokenInput.value.trim();
  if (token && persistingHeaders()) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
}

/** localStorage as GraphiQL's StorageAPI uses it, telling the token field what it does. */
const storage: Storage = {
  getItem: (key) => localStorage.getItem(key),
  setItem: (key, value) => {
    localStorage.setItem(key, value);
    if (key === PERSIST_HEADERS_KEY) keepToken();
  },
  removeItem: (key) => localStorage.removeItem(key),
  // "Clear data": everything GraphiQL keeps, the token included.
  clear: () => {
    for (const key of Object.keys(localStorage)) {
      if (key.startsWith(NAMESPACE)) localStorage.removeItem(key);
    }
    tokenInput.value = '';
  },
  key: (index) => localStorage.key(index),
  get length() {
    return localStorage.length;
  },
};

// Earlier builds kept the token under this key whatever the setting said.
localStorage.removeItem('chatstore:token');
// The token field starts from `#token=…` in the URL, else from the kept one.
const fromFragment = new URLSearchParams(location.hash.slice(1));
tokenInput.value = fromFragment.get('token') ?? (persistingHeaders() ? localStorage.getItem(TOKEN_KEY) : null) ?? '';
tokenInput.addEventListener('input', keepToken);
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
    storage,
    defaultQuery: DEFAULT_QUERY,
    // The README's walk puts an id in the Variables pane first thing: it starts open.
    defaultEditorToolsVisibility: 'variables',
    query: fromFragment.get('query') ?? undefined,
    variables: fromFragment.get('variables') ?? undefined,
  }),
);
