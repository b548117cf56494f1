import type { ChatPageQuery, SessionEventsSubscription } from '../gql/graphql';

type Page = NonNullable<ChatPageQuery['session']>;
export type Message = Page['messages'][number];
export type SessionEvent = SessionEventsSubscription['sessionEvents'];
type SessionFields = NonNullable<SessionEvent['session']>;
/** What naming a chat needs: a USER message's place and text. */
export type Opening = Pick<Message, 'sequence' | 'role' | 'content'>;

type Delta = NonNullable<SessionEvent['appended']>;

/** Where a message's work stands, as the page shows it. */
export type Progress = 'pending' | 'streaming' | 'failed' | 'done';

export function progressOf(message: Message): Progress {
  if (message.status === 'PENDING') return 'pending';
  if (message.status === 'STREAMING') return 'streaming';
  if (message.status === 'FAILED') return 'failed';
  // A TOOL message appended without a status and without a result yet is still running.
  const noResult = message.content === null || message.content === '' || message.content === 'pending';
  return message.role === 'TOOL' && noResult ? 'pending' : 'done';
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
 * its revision is newer, and the session's fields likewise. A streamed chunk (APPENDED) is
 * added to a message whose content is exactly `offset` UTF-16 code units long (JavaScript's
 * `length`); a message of another length is marked `stale`, for main.ts to read it again.
 *
 * The cursor moves only with what covers every change up to it: the page load (the
 * session's revision, whole) and each event, in the order the server sends them. Messages
 * fetched by sequence (older pages, stale ones) or returned by a mutation are merged but
 * never move it.
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
  /** Messages whose chunk did not fit, by sequence: the revision they must be read at. */
  readonly stale = new Map<number, number>();
  /** How many times a chunk did not fit (for the tests and the curious). */
  mismatches = 0;

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
    if (event.appended && event.sequence !== null && event.sequence !== undefined) {
      this.append(event.sequence, event.revision, event.appended);
    }
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
    if ((this.stale.get(message.sequence) ?? Infinity) <= message.revision) {
      this.stale.delete(message.sequence);
    }
  }

  /** A chunk of the streamed message at `sequence`, written at `revision`. */
  private append(sequence: number, revision: number, delta: Delta): void {
    const known = this.messages.get(sequence);
    if (known && known.revision >= revision) return; // already in what we hold
    if (!known && sequence < this.from) return; // on an older page, not loaded
    if (!known || (known.content ?? '').length !== delta.offset) {
      this.mismatches += 1;
      this.stale.set(sequence, Math.max(revision, this.stale.get(sequence) ?? 0));
      return;
    }
    const content = (known.content ?? '') + delta.text;
    const { status, deadline, updatedAt } = delta;
    this.messages.set(sequence, { ...known, content, status, deadline, updatedAt, revision });
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
