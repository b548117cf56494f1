import type { ChatPageQuery, ToolMessageUpdatedSubscription } from '../gql/graphql';

export type Message = NonNullable<ChatPageQuery['session']>['messages'][number];
export type ToolMessage = ToolMessageUpdatedSubscription['toolMessageUpdated'];

/** A tool operation is pending while its TOOL message has no result yet. */
export function isPending(message: Message): boolean {
  return (
    message.role === 'TOOL' &&
    (message.content === null || message.content === '' || message.content === 'pending')
  );
}

/**
 * Where a subscription resumes: after `revision`, and within that revision after `sequence`
 * (`null`: the whole revision is known, as after a page load).
 */
export interface ResumePoint {
  revision: number;
  sequence: number | null;
}

function isAfter(a: ResumePoint, b: ResumePoint): boolean {
  const sequence = (point: ResumePoint): number => point.sequence ?? Number.POSITIVE_INFINITY;
  return a.revision > b.revision || (a.revision === b.revision && sequence(a) > sequence(b));
}

/**
 * The messages a chat view holds, and the point to resume the subscription after.
 *
 * The resume rule: `resumeAt` only moves forward with what covers every change up to it, that
 * is the session's `revision` from a page load (the whole revision), and each subscription
 * event (its revision and sequence: the server sends them in that order). Messages fetched by
 * sequence (older pages, gaps) are merged but never move it: they say nothing about others.
 */
export class ChatState {
  private readonly messages = new Map<string, Message>();
  private readonly seen = new Set<string>();
  resumeAt: ResumePoint = { revision: 0, sequence: null };
  received = 0;
  duplicates = 0;
  title: string | null = null;

  /** A page of messages (latest or older); with `revision` it also covers every change up to it. */
  addPage(messages: readonly Message[], revision?: number): void {
    messages.forEach((message) => this.merge(message));
    if (revision !== undefined) this.advance({ revision, sequence: null });
  }

  /** A subscription event; returns whether it changed what is shown. */
  addEvent(message: ToolMessage): boolean {
    const key = `${message.id}@${message.revision}`;
    this.received += 1;
    if (this.seen.has(key)) {
      this.duplicates += 1;
    }
    this.seen.add(key);
    this.advance({ revision: message.revision, sequence: message.sequence });
    return this.merge(message);
  }

  private advance(point: ResumePoint): void {
    if (isAfter(point, this.resumeAt)) this.resumeAt = point;
  }

  /** Keeps the newest state of each message: a stale or repeated one changes nothing. */
  merge(message: Message): boolean {
    const known = this.messages.get(message.id);
    if (known && known.revision >= message.revision) {
      return false;
    }
    this.messages.set(message.id, message);
    return true;
  }

  ordered(): Message[] {
    return [...this.messages.values()].sort((a, b) => a.sequence - b.sequence);
  }

  lowestSequence(): number | undefined {
    return this.ordered()[0]?.sequence;
  }

  highestSequence(): number {
    return this.ordered().at(-1)?.sequence ?? -1;
  }

  /** The end of the unbroken run of sequences from the lowest shown: a gap starts after it. */
  contiguousEnd(): number {
    const ordered = this.ordered();
    let end = ordered[0]?.sequence ?? -1;
    for (const message of ordered) {
      if (message.sequence > end + 1) break;
      end = message.sequence;
    }
    return end;
  }
}
