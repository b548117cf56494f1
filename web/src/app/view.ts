import { type Message, type Progress, progressOf } from './state';

type Child = Node | string | null | undefined | false;

/** A DOM element with attributes (`data-*` included) and children. */
export function h(
  tag: string,
  attributes: Record<string, string | number | boolean | undefined> = {},
  ...children: Child[]
): HTMLElement {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children) {
    if (child) element.append(child);
  }
  return element;
}

interface ToolCall {
  id?: string;
  function?: { name?: string; arguments?: string };
}

function toolCalls(message: Message): ToolCall[] {
  return Array.isArray(message.toolCalls) ? (message.toolCalls as ToolCall[]) : [];
}

const BADGE: Record<Progress, string> = {
  pending: 'running',
  streaming: 'writing',
  failed: 'failed',
  done: 'done',
};

/** "times out in 42 s" (or "in 5 min"), further away the clock time; "timing out…" once due. */
export function deadlineText(deadline: string, now = Date.now()): string {
  const seconds = Math.ceil((Date.parse(deadline) - now) / 1000);
  if (seconds <= 0) return 'timing out…';
  if (seconds < 60) return `times out in ${seconds} s`;
  if (seconds < 3600) return `times out in ${Math.round(seconds / 60)} min`;
  const at = new Date(deadline);
  const today = at.toDateString() === new Date(now).toDateString();
  const time = at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return `times out at ${today ? time : `${at.toLocaleDateString()} ${time}`}`;
}

/** Brings every deadline shown up to date; main.ts calls it once a second while any is. */
export function refreshDeadlines(root: ParentNode, now = Date.now()): number {
  const shown = root.querySelectorAll<HTMLElement>('.deadline');
  for (const element of shown) {
    const text = deadlineText(element.dataset.deadline!, now);
    if (element.textContent !== text) element.textContent = text;
  }
  return shown.length;
}

/** Its badge (a spinner while it runs) and, while it runs, its deadline. */
function progressView(message: Message, progress: Progress): Child[] {
  const running = progress === 'pending' || progress === 'streaming';
  const deadline = running ? message.deadline : null;
  const title = deadline ? new Date(deadline).toLocaleString() : undefined;
  return [
    h('span', { class: `badge ${progress}` }, BADGE[progress]),
    deadline && h('span', { class: 'deadline', 'data-deadline': deadline, title }, deadlineText(deadline)),
  ];
}

function failureView(message: Message): HTMLElement {
  return h('p', { class: 'failure-reason' }, message.failureReason ?? 'It failed.');
}

function toolMessageView(message: Message, progress: Progress): HTMLElement {
  const [badge, deadline] = progressView(message, progress);
  const text = progress === 'pending' ? 'Waiting for the result.' : message.content;
  const result = progress === 'failed' ? failureView(message) : h('div', { class: 'tool-result' }, text);
  return h(
    'div',
    {
      class: `tool ${progress}`,
      'data-tool-call-id': message.toolCallId ?? undefined,
      'data-state': progress,
    },
    badge,
    h('span', { class: 'tool-id' }, message.toolCallId ?? ''),
    deadline,
    result,
  );
}

export function messageView(message: Message): HTMLElement {
  const calls = toolCalls(message);
  const progress = progressOf(message);
  const isTool = message.role === 'TOOL';
  return h(
    'li',
    {
      class: `message role-${message.role.toLowerCase()}`,
      'data-id': message.id,
      'data-sequence': message.sequence,
      'data-revision': message.revision,
      'data-role': message.role,
      'data-state': progress,
    },
    h(
      'div',
      { class: 'role' },
      message.role.toLowerCase(),
      ...(!isTool && progress !== 'done' ? progressView(message, progress) : []),
    ),
    isTool
      ? toolMessageView(message, progress)
      : h('div', { class: 'content' }, message.content ?? message.refusal ?? ''),
    !isTool && progress === 'failed' && failureView(message),
    ...calls.map((call) =>
      h(
        'div',
        { class: 'call' },
        'calls ',
        h('code', {}, `${call.function?.name ?? '?'}(${call.function?.arguments ?? ''})`),
        ` as ${call.id ?? '?'}`,
      ),
    ),
  );
}
