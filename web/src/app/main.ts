import './style.css';

import {
  AppendMessageDocument,
  ChatPageDocument,
  CreateSessionDocument,
  SessionMessagesDocument,
} from '../gql/graphql';
import { RequestError, request } from './api';
import { follow, type LiveStatus } from './live';
import { ChatState, type ResumePoint } from './state';
import { h, messageView } from './view';

const PAGE_SIZE = 50;

/** The page takes its session and token from the URL fragment, which is never sent to a server. */
function fromFragment(): { session: string | null; token: string | null } {
  const params = new URLSearchParams(location.hash.slice(1));
  return { session: params.get('session'), token: params.get('token') };
}

function openSession(session: string, token: string): void {
  location.hash = new URLSearchParams({ session, token }).toString();
}

function errorText(error: unknown): string {
  return error instanceof RequestError && error.code
    ? `${error.code}: ${error.message}`
    : String(error instanceof Error ? error.message : error);
}

function showStart(root: HTMLElement, token: string | null, problem?: string): void {
  const tokenInput = h('input', {
    name: 'token',
    placeholder: 'Bearer token (JWT)',
    required: true,
    autocomplete: 'off',
    value: token ?? '',
  }) as HTMLInputElement;
  const sessionInput = h('input', {
    name: 'session',
    placeholder: 'Session id (empty: create one)',
    autocomplete: 'off',
  }) as HTMLInputElement;
  const note = h('p', { class: 'problem' }, problem);
  const form = h(
    'form',
    { class: 'start' },
    h('h1', {}, 'chatstore'),
    h('p', {}, 'Paste a token (dev mode prints one at start) and a session id, or leave the id empty to create a session.'),
    tokenInput,
    sessionInput,
    h('button', { type: 'submit' }, 'Open'),
    note,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const tokenValue = tokenInput.value.trim();
    const sessionValue = sessionInput.value.trim();
    if (sessionValue) {
      openSession(sessionValue, tokenValue);
      return;
    }
    request(CreateSessionDocument, { input: { title: 'New chat' } }, tokenValue)
      .then((data) => openSession(data.createSession.id, tokenValue))
      .catch((error: unknown) => {
        note.textContent = errorText(error);
      });
  });
  root.replaceChildren(form);
}

async function showChat(root: HTMLElement, sessionId: string, token: string): Promise<void> {
  const state = new ChatState();
  const title = h('h1', {}, 'Loading…');
  const list = h('ol', { class: 'messages' });
  const older = h('button', { class: 'older', type: 'button', hidden: true }, 'Load earlier messages');
  const status = h('p', { id: 'status', 'data-state': 'connecting' }, 'connecting');
  const problem = h('p', { class: 'problem' });
  const input = h('input', { name: 'content', placeholder: 'Message', autocomplete: 'off' }) as HTMLInputElement;
  const composer = h('form', { class: 'composer' }, input, h('button', { type: 'submit' }, 'Send'));
  root.replaceChildren(h('header', {}, title, status), older, list, composer, problem);

  const render = (): void => {
    title.textContent = state.title ?? 'Untitled chat';
    list.replaceChildren(...state.ordered().map(messageView));
    older.hidden = (state.lowestSequence() ?? 0) <= 0;
    status.dataset.received = String(state.received);
    status.dataset.duplicates = String(state.duplicates);
  };
  const setStatus = (value: LiveStatus, detail: string, resumedAt: ResumePoint): void => {
    status.dataset.state = value;
    status.dataset.afterRevision = String(resumedAt.revision);
    status.dataset.afterSequence = String(resumedAt.sequence ?? '');
    const after =
      resumedAt.sequence === null
        ? `revision ${resumedAt.revision}`
        : `revision ${resumedAt.revision}, message ${resumedAt.sequence}`;
    status.textContent = `${value}${detail ? ` (${detail})` : ''} · subscribed after ${after}`;
  };
  const report = (error: unknown): void => {
    problem.textContent = errorText(error);
  };

  // Messages the subscription does not carry (non-TOOL ones), from the first gap on. One
  // request at a time; a call meanwhile runs another when it ends, as does a full page.
  let filling = false;
  let fillAgain = false;
  const fillGap = (): void => {
    if (filling) {
      fillAgain = true;
      return;
    }
    filling = true;
    request(
      SessionMessagesDocument,
      { id: sessionId, afterSequence: state.contiguousEnd(), first: PAGE_SIZE },
      token,
    )
      .then((data) => {
        const messages = data.session?.messages ?? [];
        state.addPage(messages);
        fillAgain ||= messages.length === PAGE_SIZE;
        render();
      })
      .catch(report)
      .finally(() => {
        filling = false;
        if (fillAgain) {
          fillAgain = false;
          fillGap();
        }
      });
  };

  let page;
  try {
    page = await request(ChatPageDocument, { id: sessionId, last: PAGE_SIZE }, token);
  } catch (error) {
    showStart(root, token, errorText(error));
    return;
  }
  if (!page.session) {
    showStart(root, token, `No session ${sessionId} for this token.`);
    return;
  }
  state.title = page.session.title;
  state.addPage(page.session.messages, page.session.revision);
  render();

  older.addEventListener('click', () => {
    request(ChatPageDocument, { id: sessionId, last: PAGE_SIZE, beforeSequence: state.lowestSequence() }, token)
      .then((data) => {
        if (data.session) state.addPage(data.session.messages);
        render();
      })
      .catch(report);
  });
  composer.addEventListener('submit', (event) => {
    event.preventDefault();
    const content = input.value.trim();
    if (!content) return;
    request(AppendMessageDocument, { sessionId, message: { role: 'USER', content } }, token)
      .then((data) => {
        input.value = '';
        state.merge(data.appendMessage);
        render();
      })
      .catch(report);
  });

  follow({
    sessionId,
    token,
    resumeAt: () => state.resumeAt,
    onMessage: (message) => {
      state.addEvent(message);
      render();
      if (state.contiguousEnd() < state.highestSequence()) fillGap();
    },
    onStatus: setStatus,
    onConnected: fillGap,
  });
}

function main(): void {
  const root = document.getElementById('app')!;
  const { session, token } = fromFragment();
  if (session && token) {
    void showChat(root, session, token);
  } else {
    showStart(root, token);
  }
  window.addEventListener('hashchange', () => location.reload());
}

main();
