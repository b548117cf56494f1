import './style.css';

import {
  ChatPageDocument,
  CreateSessionDocument,
  SendMessageDocument,
  SessionMessagesDocument,
  UpdateSessionDocument,
} from '../gql/graphql';
import { RequestError, request } from './api';
import { ChatList, chatHref } from './chats';
import { follow, type LiveStatus } from './live';
import { ChatState, type Cursor } from './state';
import { h, messageView, refreshDeadlines } from './view';

const PAGE_SIZE = 50;

/** The status line, in a person's words. */
const STATUS_TEXT: Record<LiveStatus, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  offline: 'Offline',
  deleted: 'Deleted',
  failed: 'Disconnected',
};

/** The page takes its session and token from the URL fragment, which is never sent to a server. */
function fromFragment(): { session: string | null; token: string | null } {
  const params = new URLSearchParams(location.hash.slice(1));
  return { session: params.get('session'), token: params.get('token') };
}

function errorText(error: unknown): string {
  return error instanceof RequestError && error.code
    ? `${error.code}: ${error.message}`
    : String(error instanceof Error ? error.message : error);
}

function showStart(root: HTMLElement, problem?: string): void {
  const tokenInput = h('input', {
    name: 'token',
    placeholder: 'Bearer token (JWT)',
    required: true,
    autocomplete: 'off',
  }) as HTMLInputElement;
  const form = h(
    'form',
    { class: 'start' },
    h('h1', {}, 'chatstore'),
    h('p', {}, 'Paste a token (dev mode prints one at start) to see your chats.'),
    tokenInput,
    h('button', { type: 'submit' }, 'Open'),
    h('p', { class: 'problem' }, problem),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    location.hash = new URLSearchParams({ token: tokenInput.value.trim() }).toString();
  });
  root.replaceChildren(form);
}

/** The list of the caller's chats beside the open one (or an invitation to pick one). */
function showApp(root: HTMLElement, token: string, sessionId: string | null): void {
  const chats = new ChatList(token, sessionId);
  const problem = h('p', { class: 'problem' });
  const newChat = h('button', { type: 'button', class: 'new-chat' }, 'New chat');
  const pane = h('section', { class: 'chat' });
  root.replaceChildren(h('nav', { class: 'sidebar' }, newChat, chats.element, problem), pane);

  const refresh = (): void => {
    chats.refresh().catch((error: unknown) => {
      problem.textContent = errorText(error);
    });
  };
  newChat.addEventListener('click', () => {
    request(CreateSessionDocument, {}, token)
      .then((data) => {
        location.hash = chatHref(data.createSession.id, token);
      })
      .catch((error: unknown) => {
        problem.textContent = errorText(error);
      });
  });
  // Other tabs and workers change other chats too: read the list again when the page is seen.
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') refresh();
  });
  refresh();

  if (sessionId) {
    void showChat(pane, sessionId, token, chats, refresh);
  } else {
    pane.replaceChildren(h('p', { class: 'empty' }, 'Pick a chat, or start a new one.'));
  }
}

async function showChat(
  pane: HTMLElement,
  sessionId: string,
  token: string,
  chats: ChatList,
  refreshChats: () => void,
): Promise<void> {
  const title = h('h1', { id: 'title' }, 'Loading…');
  const rename = h('button', { type: 'button', class: 'rename', title: 'Rename this chat' }, 'Rename');
  const status = h('p', { id: 'status', 'data-state': 'connecting' }, STATUS_TEXT.connecting);
  const header = h('header', {}, title, rename, status);
  const older = h('button', { class: 'older', type: 'button', hidden: true }, 'Load earlier messages');
  const list = h('ol', { class: 'messages' });
  const input = h('input', { name: 'content', placeholder: 'Message', autocomplete: 'off' }) as HTMLInputElement;
  const send = h('button', { type: 'submit' }, 'Send') as HTMLButtonElement;
  const composer = h('form', { class: 'composer' }, input, send);
  const problem = h('p', { class: 'problem' });
  pane.replaceChildren(header, older, list, composer, problem);
  const report = (error: unknown): void => {
    problem.textContent = errorText(error);
  };

  let page;
  try {
    page = (await request(ChatPageDocument, { id: sessionId, last: PAGE_SIZE }, token)).session;
  } catch (error) {
    pane.replaceChildren(h('p', { class: 'problem' }, errorText(error)));
    return;
  }
  if (!page) {
    const missing = 'This chat does not exist (or is not yours).';
    pane.replaceChildren(h('p', { class: 'problem' }, missing));
    return;
  }
  const state = new ChatState(page);
  // One timer for the page, ticking while a deadline is shown: it rewrites those lines only.
  let ticking: ReturnType<typeof setInterval> | undefined;
  const tick = (): void => {
    if (refreshDeadlines(list) === 0) {
      clearInterval(ticking);
      ticking = undefined;
    }
  };

  const render = (): void => {
    // A person reading the latest messages keeps seeing the latest ones.
    const atBottom = innerHeight + scrollY >= document.body.scrollHeight - 40;
    title.textContent = state.name();
    title.title = state.name();
    list.replaceChildren(...state.shown().map(messageView));
    older.hidden = state.from <= 0;
    input.disabled = send.disabled = rename.hidden = state.deleted;
    if (!ticking && list.querySelector('.deadline')) ticking = setInterval(tick, 1000);
    status.dataset.received = String(state.received);
    status.dataset.duplicates = String(state.duplicates);
    status.dataset.mismatches = String(state.mismatches);
    if (state.deleted) {
      chats.remove(sessionId);
    } else {
      chats.update({
        id: sessionId,
        name: state.name(),
        updatedAt: state.updatedAt,
        revision: state.revision,
      });
    }
    if (atBottom) scrollTo(0, document.body.scrollHeight);
  };
  const setStatus = (value: LiveStatus, detail: string, resumedAt: Cursor): void => {
    status.dataset.state = value;
    // For the tests and the curious: where this (re)subscription resumed.
    status.dataset.afterRevision = String(resumedAt.revision);
    status.dataset.afterSequence = String(resumedAt.sequence ?? '');
    status.textContent = STATUS_TEXT[value];
    status.title = detail;
    if (value === 'deleted') problem.textContent = 'This chat was deleted.';
    if (value === 'failed') {
      problem.textContent = `Updates stopped (${detail}): reload the page, with a fresh token if yours expired.`;
    }
  };
  render();

  // A streamed chunk that did not fit the message held (state.ts): read the message again,
  // whole, until what was read is as new as the last such chunk. One read at a time; a failed
  // one is tried again at the next event or reconnection.
  let rereading = false;
  const reread = async (): Promise<void> => {
    if (rereading) return;
    rereading = true;
    try {
      while (state.stale.size) {
        const [sequence, revision] = state.stale.entries().next().value!;
        const window = { id: sessionId, beforeSequence: sequence + 1, last: 1 };
        const messages = (await request(SessionMessagesDocument, window, token)).session?.messages;
        messages?.forEach((message) => state.merge(message));
        // Still stale at the same revision: the read was older than the chunk (or the chat
        // is gone, as its events will say). Rather than ask again at once, wait for a chunk
        // that does not fit.
        if (state.stale.get(sequence) === revision) state.stale.delete(sequence);
        render();
      }
    } catch (error) {
      report(error);
    } finally {
      rereading = false;
    }
  };

  older.addEventListener('click', () => {
    const before = { id: sessionId, beforeSequence: state.from, last: PAGE_SIZE };
    request(SessionMessagesDocument, before, token)
      .then((data) => {
        state.addOlder(data.session?.messages ?? []);
        render();
      })
      .catch(report);
  });
  composer.addEventListener('submit', (event) => {
    event.preventDefault();
    const content = input.value.trim();
    if (!content) return;
    request(SendMessageDocument, { sessionId, message: { role: 'USER', content } }, token)
      .then((data) => {
        input.value = '';
        state.merge(data.appendMessage);
        render();
      })
      .catch(report);
  });
  rename.addEventListener('click', () => {
    const field = h('input', {
      name: 'title',
      value: state.title ?? state.name(),
      'aria-label': 'Title',
    }) as HTMLInputElement;
    const cancel = h('button', { type: 'button' }, 'Cancel');
    const save = h('button', { type: 'submit' }, 'Save');
    const form = h('form', { class: 'rename-form' }, field, save, cancel);
    const close = (): void => form.replaceWith(title, rename);
    cancel.addEventListener('click', close);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      // An empty title clears it: the chat is named by its first message again.
      const input = { title: field.value.trim() || null };
      request(UpdateSessionDocument, { id: sessionId, input }, token)
        .then((data) => {
          state.setFields(data.updateSession);
          close();
          render();
        })
        .catch(report);
    });
    field.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') close();
    });
    rename.remove();
    title.replaceWith(form);
    field.select();
  });

  let connections = 0;
  follow({
    sessionId,
    token,
    resumeAt: () => state.cursor,
    onEvent: (event) => {
      state.apply(event);
      render();
      if (state.stale.size) void reread();
    },
    onStatus: setStatus,
    // What happened to other chats while this page was cut off.
    onConnected: () => {
      if (connections++ > 0) refreshChats();
      if (state.stale.size) void reread();
    },
  });
}

function main(): void {
  const root = document.getElementById('app')!;
  const { session, token } = fromFragment();
  if (token) {
    showApp(root, token, session);
  } else {
    showStart(root);
  }
  window.addEventListener('hashchange', () => location.reload());
}

main();
