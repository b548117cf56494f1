// Follows one subscription of a session over GraphQL over SSE with the graphql-sse client, as
// a frontend would: it keeps the cursor of the last event and, after a disconnect, subscribes
// again after it (the resume rule). Driven by tests/test_graphql_sse.py.
//
// Environment: BASE_URL, TOKEN, SESSION_ID, OPERATION (SessionEvents or ToolMessageUpdated,
// a document of graphql/operations), AFTER_REVISION (optional: the session's revision when it
// was loaded).
// Standard input, a command a line: `drop` ends the subscription (the client closes the
// connection), `resume` subscribes again after the last event received.
// Standard output, a JSON object a line: {"subscribed": variables} once the server has
// accepted the request, {"next": result}, {"complete": true}, {"dropped": true},
// {"error": message}.

import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { createClient } from 'graphql-sse';

const { BASE_URL, TOKEN, SESSION_ID, OPERATION, AFTER_REVISION } = process.env;
const FIELDS = { SessionEvents: 'sessionEvents', ToolMessageUpdated: 'toolMessageUpdated' };
const field = FIELDS[OPERATION];
const query = readFileSync(
  new URL(`../../../graphql/operations/${OPERATION}.graphql`, import.meta.url),
  'utf8',
);

const client = createClient({
  url: `${BASE_URL}/graphql/stream`,
  headers: { Authorization: `Bearer ${TOKEN}` },
  // The client's own retry would send the first variables again: resubscribe with the
  // cursor instead.
  retryAttempts: 0,
});

let cursor = AFTER_REVISION ? { afterRevision: Number(AFTER_REVISION) } : {};
let stop = null;

function print(line) {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

function subscribe() {
  const variables = { sessionId: SESSION_ID, ...cursor };
  const current = client.subscribe(
    { query, variables },
    {
      next(result) {
        if (stop !== current) return;
        const item = result.data?.[field];
        if (item) {
          // The position of the last event received: a null sequence is left out.
          cursor = { afterRevision: item.revision };
          if (item.sequence !== null) cursor.afterSequence = item.sequence;
        }
        print({ next: result });
      },
      error(error) {
        if (stop === current) print({ error: String(error?.message ?? error) });
      },
      complete() {
        if (stop === current) print({ complete: true });
      },
    },
    {
      connected() {
        print({ subscribed: variables });
      },
    },
  );
  stop = current;
}

createInterface({ input: process.stdin }).on('line', (command) => {
  if (command === 'drop') {
    const current = stop;
    stop = null;
    current?.();
    print({ dropped: true });
  } else if (command === 'resume') {
    subscribe();
  }
}).on('close', () => {
  stop?.();
  client.dispose();
});

subscribe();
