import { ChatListDocument } from '../gql/graphql';
import { request } from './api';
import { chatName } from './state';
import { h } from './view';

/** One line of the list: a session, by the name a person knows it by. */
export interface ChatEntry {
  id: string;
  name: string;
  updatedAt: string;
  /** The session revision the name and time are from: an older one never replaces a newer. */
  revision: number;
}

export const chatHref = (session: string, token: string): string =>
  `#${new URLSearchParams({ session, token })}`;

/**
 * The caller's sessions, most recently updated first, the open one marked.
 *
 * `refresh` reads them all (at start, when the page is shown again, after a reconnection);
 * the open chat's own changes arrive as events and are passed in with `update`.
 */
export class ChatList {
  readonly element = h('ul', { class: 'chats', 'aria-label': 'Your chats' });
  private entries = new Map<string, ChatEntry>();
  /** Deleted while shown: a read that started before the deletion must not bring them back. */
  private readonly deleted = new Set<string>();

  constructor(
    private readonly token: string,
    private readonly current: string | null,
  ) {}

  async refresh(): Promise<void> {
    const data = await request(ChatListDocument, { limit: 50 }, this.token);
    const fetched = data.sessions
      .filter((session) => !this.deleted.has(session.id))
      .map((session) => ({
        id: session.id,
        name: chatName(session.title, session.messages),
        updatedAt: session.updatedAt,
        revision: session.revision,
      }));
    // What the open chat learnt from its events may be newer than this read.
    const open = this.current === null ? undefined : this.entries.get(this.current);
    this.entries = new Map(fetched.map((entry) => [entry.id, entry]));
    if (open) this.update(open);
    this.render();
  }

  update(entry: ChatEntry): void {
    const known = this.entries.get(entry.id);
    if (known && known.revision > entry.revision) return;
    this.entries.set(entry.id, entry);
    this.render();
  }

  remove(id: string): void {
    this.deleted.add(id);
    this.entries.delete(id);
    this.render();
  }

  private render(): void {
    const entries = [...this.entries.values()].sort((a, b) =>
      b.updatedAt.localeCompare(a.updatedAt),
    );
    this.element.replaceChildren(
      ...entries.map((entry) =>
        h(
          'li',
          {},
          h(
            'a',
            {
              href: chatHref(entry.id, this.token),
              'data-session-id': entry.id,
              'aria-current': entry.id === this.current ? 'page' : undefined,
              title: entry.name,
            },
            entry.name,
          ),
        ),
      ),
    );
  }
}
