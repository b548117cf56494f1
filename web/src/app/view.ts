import { isPending, type Message } from './state';

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

function toolMessageView(message: Message): HTMLElement {
  const pending = isPending(message);
  return h(
    'div',
    {
      class: `tool ${pending ? 'pending' : 'done'}`,
      'data-tool-call-id': message.toolCallId ?? undefined,
      'data-state': pending ? 'pending' : 'done',
    },
    h('span', { class: 'tool-badge' }, pending ? 'running…' : 'done'),
    h('span', { class: 'tool-id' }, message.toolCallId ?? ''),
    h('div', { class: 'tool-result' }, pending ? 'Waiting for the result.' : message.content),
  );
}

export function messageView(message: Message): HTMLElement {
  const calls = toolCalls(message);
  return h(
    'li',
    {
      class: `message role-${message.role.toLowerCase()}`,
      'data-id': message.id,
      'data-sequence': message.sequence,
      'data-revision': message.revision,
      'data-role': message.role,
    },
    h('div', { class: 'role' }, message.role.toLowerCase()),
    message.role === 'TOOL'
      ? toolMessageView(message)
      : h('div', { class: 'content' }, message.content ?? message.refusal ?? ''),
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
