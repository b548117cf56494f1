import { type Client, createClient, type SubscribePayload } from 'graphql-ws';

import { SessionEventsDocument, type SessionEventsSubscription } from '../gql/graphql';
import { documentParams, graphqlWebSocketUrl } from './api';
import type { Cursor, SessionEvent } from './state';

export type LiveStatus = 'connecting' | 'live' | 'reconnecting' | 'offline' | 'deleted' | 'failed';

export interface FollowOptions {
  sessionId: string;
  token: string;
  /** Read at every (re)subscription: the cursor of the last event applied. */
  resumeAt: () => Cursor;
  onEvent: (event: SessionEvent) => void;
  onStatus: (status: LiveStatus, detail: string, resumedAt: Cursor) => void;
  /** After each successful (re)connection: a chance to refresh what events do not cover. */
  onConnected: () => void;
}

// Close codes after which retrying cannot help: bad request, unauthorized, forbidden,
// unsupported subprotocol, duplicate operation id, server error.
const FATAL_CLOSE_CODES = new Set([4400, 4401, 4403, 4406, 4409, 4500]);
const KEEP_ALIVE_MS = 15_000;
const PONG_TIMEOUT_MS = 5_000;
const MAX_RETRY_WAIT_MS = 10_000;

function closeCode(error: unknown): number | undefined {
  return typeof error === 'object' && error !== null && 'code' in error
    ? Number((error as { code: unknown }).code)
    : undefined;
}

function hasCode(error: unknown, code: string): boolean {
  return (
    Array.isArray(error) &&
    error.some((e: { extensions?: { code?: string } }) => e.extensions?.code === code)
  );
}

/** The subscription was refused because the session is gone (deleted while we were away). */
const isNotFound = (error: unknown): boolean => hasCode(error, 'NOT_FOUND');

/** The server does not know the document's trusted id: it runs another build's manifest. */
const isUnknownDocument = (error: unknown): boolean =>
  hasCode(error, 'PERSISTED_QUERY_NOT_FOUND');

function describe(error: unknown): string {
  if (Array.isArray(error)) {
    return error.map((e: { message?: string }) => e.message ?? String(e)).join('; ');
  }
  const code = closeCode(error);
  if (code !== undefined) {
    const reason = (error as { reason?: string }).reason;
    return `connection closed (${code}${reason ? `: ${reason}` : ''})`;
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * Follows every change of a session (`sessionEvents`) until the returned function is called
 * or the session is deleted.
 *
 * Each connection carries one subscription whose `afterRevision`/`afterSequence` are read when
 * it starts, so a reconnection resumes right after the last event applied: the server
 * replays what changed meanwhile, once, then goes live. graphql-ws's own retry would resend
 * the first variables, so it is off (`retryAttempts: 0`) and this loop reconnects instead,
 * with backoff, and waits for the browser to be back online.
 */
export function follow(options: FollowOptions): () => void {
  let stopped = false;
  let active: Client | undefined;
  let retries = 0;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  // The document goes by its trusted id, and with its text too after the server said it
  // does not know the id.
  let sendText = false;

  const start = (): void => {
    retryTimer = undefined;
    if (stopped || active) return;
    const resumedAt = options.resumeAt();
    if (!navigator.onLine) {
      options.onStatus('offline', 'waiting for the network', resumedAt);
      return;
    }
    options.onStatus(retries ? 'reconnecting' : 'connecting', '', resumedAt);
    let pongTimer: ReturnType<typeof setTimeout> | undefined;
    const client = createClient({
      url: graphqlWebSocketUrl(),
      connectionParams: { Authorization: `Bearer ${options.token}` },
      lazy: true,
      retryAttempts: 0,
      keepAlive: KEEP_ALIVE_MS,
      on: {
        connected: () => {
          retries = 0;
          options.onStatus('live', '', resumedAt);
          options.onConnected();
        },
        // A connection that stops answering pings is dead even if the socket looks open.
        ping: (received) => {
          if (!received) pongTimer = setTimeout(() => client.terminate(), PONG_TIMEOUT_MS);
        },
        pong: (received) => {
          if (received) clearTimeout(pongTimer);
        },
        closed: () => clearTimeout(pongTimer),
      },
    });
    active = client;
    const finish = (): void => {
      if (active === client) active = undefined;
      void client.dispose();
    };
    const payload: SubscribePayload = {
      // graphql-ws requires a `query` string, so an empty one goes with `documentId`.
      query: '',
      ...documentParams(SessionEventsDocument, sendText),
      variables: {
        sessionId: options.sessionId,
        afterRevision: resumedAt.revision,
        // Left out after an event whose sequence was null (a SESSION event, a page load).
        ...(resumedAt.sequence === null ? {} : { afterSequence: resumedAt.sequence }),
      },
    };
    client.subscribe<SessionEventsSubscription>(
      payload,
      {
        next: (result) => {
          if (result.data) options.onEvent(result.data.sessionEvents);
        },
        error: (error) => {
          finish();
          if (isUnknownDocument(error) && !sendText) {
            sendText = true;
            start();
            return;
          }
          if (isNotFound(error)) {
            stopped = true;
            options.onStatus('deleted', describe(error), resumedAt);
            return;
          }
          const code = closeCode(error);
          if (Array.isArray(error) || (code !== undefined && FATAL_CLOSE_CODES.has(code))) {
            options.onStatus('failed', describe(error), resumedAt);
            return;
          }
          retry(describe(error));
        },
        // The server completes the subscription only after the session's DELETED event.
        complete: () => {
          finish();
          if (!stopped) options.onStatus('deleted', '', options.resumeAt());
          stopped = true;
        },
      },
    );
  };

  const retry = (why: string): void => {
    if (stopped || retryTimer) return;
    const wait = Math.min(500 * 2 ** retries, MAX_RETRY_WAIT_MS) * (0.5 + Math.random() / 2);
    retries += 1;
    if (navigator.onLine) {
      options.onStatus('reconnecting', why, options.resumeAt());
    } else {
      options.onStatus('offline', 'waiting for the network', options.resumeAt());
    }
    retryTimer = setTimeout(start, wait);
  };

  // The browser knows before the socket does: drop the connection when the network goes,
  // reconnect at once when it comes back.
  const wentOffline = (): void => active?.terminate();
  const cameOnline = (): void => {
    clearTimeout(retryTimer);
    retryTimer = undefined;
    retries = 0;
    start();
  };
  window.addEventListener('offline', wentOffline);
  window.addEventListener('online', cameOnline);
  start();

  return () => {
    stopped = true;
    clearTimeout(retryTimer);
    window.removeEventListener('offline', wentOffline);
    window.removeEventListener('online', cameOnline);
    if (active) void active.dispose();
  };
}
