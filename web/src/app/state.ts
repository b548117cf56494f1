import type { ChatPageQuery, SessionEventsSubscription } from '../gql/graphql';

type Page = NonNullable<ChatPageQuery['session']>;
export type Message = Page['messages'][number];
export type SessionEvent = SessionEventsSubscription['sessionEvents'];
type SessionFields = NonNullable<SessionEvent['session']>;
/** What naming a chat needs: a USER message's place and text. */
export type Opening = Pick<Message, 'sequence' | 'role' | 'content'>;

/** A tool operation is pending while its TOOL message has no result yet. */
export function isPending(message: Message): boolean {
  return (
    message.role === 'TOOL' &&
    (message.content === null || message.content === '' || message.content === 'pending')
  );
}

/** A chat's name: its title, else its first USER message (trimmed), else "New chat". */
export function chatName(title: string | null | undefined, opening: readonly Opening[]): string {
  const firstUser = opening.find((message) => message.role === 'USER' && message.content?.trim());
  return title?.trim() || firstUser?.content?.trim() || 'New chat';
}

/**
 * Where the subscription resumes: after `revision`, and within it after message `sequence`
 * (`null`: the whole revision, as after a page load or a SESSION event).
 */
export interface Cursor {
  revision: number;
  sequence: number | null;
}

/**
 * One open chat: its messages by sequence, its own fields, and the cursor of the last event
 * applied.
 *
 * Everything is applied idempotently: a message replaces the one of its sequence only when
 * its revision is newer, and the session's fields likewise. The cursor moves only with what
 * covers every change up to it: the page load (the session's revision, whole) and each
 * event, in the order the server sends them. Messages fetched by sequence (older pages) or
 * returned by a mutation are merged but never move it.
 */
export class ChatState {
  private readonly messages = new Map<number, Message>();
  private readonly seen = new Set<string>();
  /** Every message from this sequence on is held (older pages load on demand). */
  from = 0;
  cursor: Cursor = { revision: 0, sequence: null };
  title: string | null = null;
  updatedAt = '';
  /** The revision of the session fields held. */
  revision = -1;
  private firstUser: Opening | undefined;
  deleted = false;
  received = 0;
  duplicates = 0;

  constructor(page: Page) {
    this.setFields(page);
    page.opening.forEach((message) => this.noteUser(message));
    page.messages.forEach((message) => this.merge(message));
    this.from = page.messages[0]?.sequence ?? 0;
    this.cursor = { revision: page.revision, sequence: null };
  }

  /** A page of older messages, just before `from`. */
  addOlder(messages: readonly Message[]): void {
    messages.forEach((message) => this.merge(message));
    this.from = Math.min(this.from, messages[0]?.sequence ?? 0);
  }

  /** One event of the subscription, in the order received. */
  apply(event: SessionEvent): void {
    const key = `${event.kind}:${event.sequence ?? ''}@${event.revision}`;
    this.received += 1;
    if (this.seen.has(key)) this.duplicates += 1;
    this.seen.add(key);
    if (event.message) this.merge(event.message);
    if (event.session) this.setFields(event.session);
    if (event.kind === 'DELETED') this.deleted = true;
    this.cursor = { revision: event.revision, sequence: event.sequence ?? null };
  }

  /** Keeps the newest state of each message: a stale or repeated one changes nothing. */
  merge(message: Message): void {
    const known = this.messages.get(message.sequence);
    if (known && known.revision >= message.revision) return;
    this.messages.set(message.sequence, message);
    this.noteUser(message);
  }

  private noteUser(message: Opening): void {
    const named = message.role === 'USER' && message.content?.trim();
    if (named && (!this.firstUser || message.sequence < this.firstUser.sequence)) {
      this.firstUser = message;
    }
  }

  setFields(fields: Pick<SessionFields, 'title' | 'updatedAt' | 'revision'>): void {
    if (fields.revision < this.revision) return;
    this.revision = fields.revision;
    this.title = fields.title ?? null;
    this.updatedAt = fields.updatedAt;
  }

  name(): string {
    return chatName(this.title, this.firstUser ? [this.firstUser] : []);
  }

  /** The messages shown: every one from `from` on, in sequence order. */
  shown(): Message[] {
    return [...this.messages.values()]
      .filter((message) => message.sequence >= this.from)
      .sort((a, b) => a.sequence - b.sequence);
  }
}
