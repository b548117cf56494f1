/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
/** A new chat session. */
export type CreateSessionInput = {
  /** Optional client-chosen UUID; repeating the call with the same id returns the stored session. */
  id?: string | number | null | undefined;
  /** The session's title; null or left out for none. */
  title?: string | null | undefined;
};

/** A message to append; the server assigns its sequence. */
export type MessageInput = {
  /** The message's text, at most MAX_CONTENT_BYTES of UTF-8 (24 MiB by default); for a TOOL message, the tool's result (`updateToolResult` can set it later). */
  content?: string | null | undefined;
  /** For a PENDING or STREAMING message: when the server marks it FAILED if it has not ended by then. Must be in the future. */
  deadline?: string | null | undefined;
  /** The assistant's function call in OpenAI's older format (`{name, arguments}`), stored as given. */
  functionCall?: unknown;
  /** Optional client-chosen UUID; repeating an append with the same id returns the stored message. */
  id?: string | number | null | undefined;
  /** The author's name, as in the OpenAI chat format. */
  name?: string | null | undefined;
  /** The assistant's refusal, as in the OpenAI chat format. */
  refusal?: string | null | undefined;
  /** Who wrote the message. */
  role: MessageRole;
  /** COMPLETE when left out. PENDING (TOOL messages only) for an operation that has started, STREAMING for content still being written; FAILED is refused. */
  status?: MessageStatus | null | undefined;
  /** On a TOOL message, the id of the tool call it answers; a second TOOL message for the same id in a session is refused (CONFLICT). */
  toolCallId?: string | null | undefined;
  /** The assistant's tool calls in OpenAI format (a list of `{id, type, function: {name, arguments}}`), stored as given. */
  toolCalls?: unknown;
};

/** Who wrote a message, as in the OpenAI chat format. */
export type MessageRole =
  | 'ASSISTANT'
  | 'DEVELOPER'
  | 'FUNCTION'
  | 'SYSTEM'
  | 'TOOL'
  | 'USER';

/** Where a message's work stands. */
export type MessageStatus =
  /** Whole: what every message appended without a status is. */
  | 'COMPLETE'
  /** It ended without a result: failed by a worker (`failMessage`), or its deadline passed. `failureReason` says why. */
  | 'FAILED'
  /** A tool operation started and has no result yet; `updateToolResult` completes it. */
  | 'PENDING'
  /** Its content is being written: `appendMessageContent` adds to it, and `done: true` completes it. */
  | 'STREAMING';

/** What changed in a session. */
export type SessionEventKind =
  /** Text was added to a streamed message: `appended` holds the text alone, where it goes and the message's other changed fields. */
  | 'APPENDED'
  /** The session was deleted; the subscription then completes. */
  | 'DELETED'
  /** A message was created or changed: `message` holds it. */
  | 'MESSAGE'
  /** The session's own fields changed (title, token totals, JSON fields, message count, updatedAt): `session` holds them. */
  | 'SESSION';

/** Changes to a session's metadata. Fields left out keep their value; null clears `title` and is refused for the others. */
export type UpdateSessionInput = {
  /** Replaces `credentials` whole: a JSON object (`{}` empties it). */
  credentials?: unknown;
  /** Replaces `successfulAgentRuns` whole: a JSON object (`{}` empties it). */
  successfulAgentRuns?: unknown;
  /** Replaces `successfulAgentSchedules` whole: a JSON object (`{}` empties it). */
  successfulAgentSchedules?: unknown;
  /** The new title; null clears it. */
  title?: string | null | undefined;
  /** Sets `totalCompletionTokens`: a whole number ≥ 0 (`addTokenUsage` adds to it instead). */
  totalCompletionTokens?: number | null | undefined;
  /** Sets `totalPromptTokens`: a whole number ≥ 0 (`addTokenUsage` adds to it instead). */
  totalPromptTokens?: number | null | undefined;
};

export type AddTokenUsageMutationVariables = Exact<{
  sessionId: string | number;
  promptTokens: number;
  completionTokens: number;
}>;


export type AddTokenUsageMutation = { addTokenUsage: { id: string, userId: string, title: string | null, createdAt: string, updatedAt: string, credentials: unknown, successfulAgentRuns: unknown, successfulAgentSchedules: unknown, totalPromptTokens: number, totalCompletionTokens: number, messageCount: number, revision: number } };

export type AppendMessageMutationVariables = Exact<{
  sessionId: string | number;
  message: MessageInput;
}>;


export type AppendMessageMutation = { appendMessage: { id: string, sessionId: string, sequence: number, role: MessageRole, content: string | null, name: string | null, toolCallId: string | null, refusal: string | null, toolCalls: unknown, functionCall: unknown, createdAt: string, updatedAt: string, revision: number } };

export type AppendMessageContentMutationVariables = Exact<{
  sessionId: string | number;
  messageId: string | number;
  text: string;
  done?: boolean;
  deadline?: string | null | undefined;
}>;


export type AppendMessageContentMutation = { appendMessageContent: { id: string, sequence: number, revision: number, status: MessageStatus, deadline: string | null, updatedAt: string } };

export type AppendMessagesMutationVariables = Exact<{
  sessionId: string | number;
  messages: Array<MessageInput> | MessageInput;
}>;


export type AppendMessagesMutation = { appendMessages: Array<{ id: string, sessionId: string, sequence: number, role: MessageRole, content: string | null, name: string | null, toolCallId: string | null, refusal: string | null, toolCalls: unknown, functionCall: unknown, createdAt: string, updatedAt: string, revision: number }> };

export type ChatListQueryVariables = Exact<{
  limit?: number;
}>;


export type ChatListQuery = { sessions: Array<{ id: string, title: string | null, updatedAt: string, revision: number, messages: Array<{ sequence: number, role: MessageRole, content: string | null }> }> };

export type ChatPageQueryVariables = Exact<{
  id: string | number;
  last?: number;
  beforeSequence?: number | null | undefined;
}>;


export type ChatPageQuery = { session: { id: string, title: string | null, revision: number, messageCount: number, updatedAt: string, opening: Array<{ sequence: number, role: MessageRole, content: string | null }>, messages: Array<{ id: string, sessionId: string, sequence: number, role: MessageRole, content: string | null, name: string | null, toolCallId: string | null, refusal: string | null, toolCalls: unknown, functionCall: unknown, createdAt: string, updatedAt: string, revision: number, status: MessageStatus, deadline: string | null, failureReason: string | null }> } | null };

export type CreateSessionMutationVariables = Exact<{
  input?: CreateSessionInput | null | undefined;
}>;


export type CreateSessionMutation = { createSession: { id: string, userId: string, title: string | null, createdAt: string, updatedAt: string, credentials: unknown, successfulAgentRuns: unknown, successfulAgentSchedules: unknown, totalPromptTokens: number, totalCompletionTokens: number, messageCount: number, revision: number } };

export type DeleteSessionMutationVariables = Exact<{
  id: string | number;
}>;


export type DeleteSessionMutation = { deleteSession: boolean };

export type FailMessageMutationVariables = Exact<{
  sessionId: string | number;
  messageId: string | number;
  reason: string;
}>;


export type FailMessageMutation = { failMessage: { id: string, sequence: number, revision: number, status: MessageStatus, failureReason: string | null } };

export type GetSessionQueryVariables = Exact<{
  id: string | number;
}>;


export type GetSessionQuery = { session: { id: string, userId: string, title: string | null, createdAt: string, updatedAt: string, credentials: unknown, successfulAgentRuns: unknown, successfulAgentSchedules: unknown, totalPromptTokens: number, totalCompletionTokens: number, messageCount: number, revision: number, messages: Array<{ id: string, sessionId: string, sequence: number, role: MessageRole, content: string | null, name: string | null, toolCallId: string | null, refusal: string | null, toolCalls: unknown, functionCall: unknown, createdAt: string, updatedAt: string, revision: number }> } | null };

export type ListSessionsQueryVariables = Exact<{
  limit?: number;
  offset?: number;
}>;


export type ListSessionsQuery = { sessionCount: number, sessions: Array<{ id: string, userId: string, title: string | null, createdAt: string, updatedAt: string, credentials: unknown, successfulAgentRuns: unknown, successfulAgentSchedules: unknown, totalPromptTokens: number, totalCompletionTokens: number, messageCount: number, revision: number }> };

export type SendMessageMutationVariables = Exact<{
  sessionId: string | number;
  message: MessageInput;
}>;


export type SendMessageMutation = { appendMessage: { id: string, sessionId: string, sequence: number, role: MessageRole, content: string | null, name: string | null, toolCallId: string | null, refusal: string | null, toolCalls: unknown, functionCall: unknown, createdAt: string, updatedAt: string, revision: number, status: MessageStatus, deadline: string | null, failureReason: string | null } };

export type SessionEventsSubscriptionVariables = Exact<{
  sessionId: string | number;
  afterRevision?: number | null | undefined;
  afterSequence?: number | null | undefined;
}>;


export type SessionEventsSubscription = { sessionEvents: { kind: SessionEventKind, sessionId: string, revision: number, sequence: number | null, message: { id: string, sessionId: string, sequence: number, role: MessageRole, content: string | null, name: string | null, toolCallId: string | null, refusal: string | null, toolCalls: unknown, functionCall: unknown, createdAt: string, updatedAt: string, revision: number, status: MessageStatus, deadline: string | null, failureReason: string | null } | null, appended: { messageId: string, offset: number, text: string, status: MessageStatus, deadline: string | null, updatedAt: string } | null, session: { id: string, userId: string, title: string | null, createdAt: string, updatedAt: string, credentials: unknown, successfulAgentRuns: unknown, successfulAgentSchedules: unknown, totalPromptTokens: number, totalCompletionTokens: number, messageCount: number, revision: number } | null } };

export type SessionMessagesQueryVariables = Exact<{
  id: string | number;
  afterSequence?: number | null | undefined;
  beforeSequence?: number | null | undefined;
  first?: number | null | undefined;
  last?: number | null | undefined;
}>;


export type SessionMessagesQuery = { session: { id: string, revision: number, messageCount: number, messages: Array<{ id: string, sessionId: string, sequence: number, role: MessageRole, content: string | null, name: string | null, toolCallId: string | null, refusal: string | null, toolCalls: unknown, functionCall: unknown, createdAt: string, updatedAt: string, revision: number, status: MessageStatus, deadline: string | null, failureReason: string | null }> } | null };

export type ToolMessageUpdatedSubscriptionVariables = Exact<{
  sessionId: string | number;
  afterRevision?: number | null | undefined;
  afterSequence?: number | null | undefined;
}>;


export type ToolMessageUpdatedSubscription = { toolMessageUpdated: { id: string, sessionId: string, sequence: number, role: MessageRole, content: string | null, name: string | null, toolCallId: string | null, refusal: string | null, toolCalls: unknown, functionCall: unknown, createdAt: string, updatedAt: string, revision: number } };

export type UpdateSessionMutationVariables = Exact<{
  id: string | number;
  input: UpdateSessionInput;
}>;


export type UpdateSessionMutation = { updateSession: { id: string, userId: string, title: string | null, createdAt: string, updatedAt: string, credentials: unknown, successfulAgentRuns: unknown, successfulAgentSchedules: unknown, totalPromptTokens: number, totalCompletionTokens: number, messageCount: number, revision: number } };

export type UpdateToolResultMutationVariables = Exact<{
  sessionId: string | number;
  toolCallId: string;
  content: string;
}>;


export type UpdateToolResultMutation = { updateToolResult: { id: string, sessionId: string, sequence: number, role: MessageRole, content: string | null, name: string | null, toolCallId: string | null, refusal: string | null, toolCalls: unknown, functionCall: unknown, createdAt: string, updatedAt: string, revision: number } };

export class TypedDocumentString<TResult, TVariables>
  extends String
  implements DocumentTypeDecoration<TResult, TVariables>
{
  __apiType?: NonNullable<DocumentTypeDecoration<TResult, TVariables>['__apiType']>;
  private value: string;
  public __meta__?: Record<string, any> | undefined;

  constructor(value: string, __meta__?: Record<string, any> | undefined) {
    super(value);
    this.value = value;
    this.__meta__ = __meta__;
  }

  override toString(): string & DocumentTypeDecoration<TResult, TVariables> {
    return this.value;
  }
}

export const AddTokenUsageDocument = new TypedDocumentString(`
    mutation AddTokenUsage($sessionId: ID!, $promptTokens: Int!, $completionTokens: Int!) {
  addTokenUsage(
    sessionId: $sessionId
    promptTokens: $promptTokens
    completionTokens: $completionTokens
  ) {
    id
    userId
    title
    createdAt
    updatedAt
    credentials
    successfulAgentRuns
    successfulAgentSchedules
    totalPromptTokens
    totalCompletionTokens
    messageCount
    revision
  }
}
    `, {"hash":"sha256:70e46b9c9c6283ec7d19eddc414be2f84f1e1d263134bc6cffb2a8992c65f143"}) as unknown as TypedDocumentString<AddTokenUsageMutation, AddTokenUsageMutationVariables>;
export const AppendMessageDocument = new TypedDocumentString(`
    mutation AppendMessage($sessionId: ID!, $message: MessageInput!) {
  appendMessage(sessionId: $sessionId, message: $message) {
    id
    sessionId
    sequence
    role
    content
    name
    toolCallId
    refusal
    toolCalls
    functionCall
    createdAt
    updatedAt
    revision
  }
}
    `, {"hash":"sha256:84b4e8915d5c8bae49eb75ca14aae358d4ddee1ac55d81b7fe798e3dff063150"}) as unknown as TypedDocumentString<AppendMessageMutation, AppendMessageMutationVariables>;
export const AppendMessageContentDocument = new TypedDocumentString(`
    mutation AppendMessageContent($sessionId: ID!, $messageId: ID!, $text: String!, $done: Boolean! = false, $deadline: DateTime) {
  appendMessageContent(
    sessionId: $sessionId
    messageId: $messageId
    text: $text
    done: $done
    deadline: $deadline
  ) {
    id
    sequence
    revision
    status
    deadline
    updatedAt
  }
}
    `, {"hash":"sha256:53843adfeb8b9f57195d3e2d24797dfc41c7300c8e804d45f3f86ca15d00b3a6"}) as unknown as TypedDocumentString<AppendMessageContentMutation, AppendMessageContentMutationVariables>;
export const AppendMessagesDocument = new TypedDocumentString(`
    mutation AppendMessages($sessionId: ID!, $messages: [MessageInput!]!) {
  appendMessages(sessionId: $sessionId, messages: $messages) {
    id
    sessionId
    sequence
    role
    content
    name
    toolCallId
    refusal
    toolCalls
    functionCall
    createdAt
    updatedAt
    revision
  }
}
    `, {"hash":"sha256:7bbea48e1bb83aa0585f07cc3d4f9fe6dd2a5f5d32a424599ea6f2a20b971502"}) as unknown as TypedDocumentString<AppendMessagesMutation, AppendMessagesMutationVariables>;
export const ChatListDocument = new TypedDocumentString(`
    query ChatList($limit: Int! = 50) {
  sessions(limit: $limit) {
    id
    title
    updatedAt
    revision
    messages(first: 5) {
      sequence
      role
      content
    }
  }
}
    `, {"hash":"sha256:e7560f8a709cfcf308f374e2cd0c5661334559c67d339e47a43f1d973ff5db4c"}) as unknown as TypedDocumentString<ChatListQuery, ChatListQueryVariables>;
export const ChatPageDocument = new TypedDocumentString(`
    query ChatPage($id: ID!, $last: Int! = 50, $beforeSequence: Int) {
  session(id: $id) {
    id
    title
    revision
    messageCount
    updatedAt
    opening: messages(first: 5) {
      sequence
      role
      content
    }
    messages(last: $last, beforeSequence: $beforeSequence) {
      id
      sessionId
      sequence
      role
      content
      name
      toolCallId
      refusal
      toolCalls
      functionCall
      createdAt
      updatedAt
      revision
      status
      deadline
      failureReason
    }
  }
}
    `, {"hash":"sha256:ec30adb1a04dd33c90a482be3dfaae1e652b4398b0622d998b21d8b28bbc3aab"}) as unknown as TypedDocumentString<ChatPageQuery, ChatPageQueryVariables>;
export const CreateSessionDocument = new TypedDocumentString(`
    mutation CreateSession($input: CreateSessionInput) {
  createSession(input: $input) {
    id
    userId
    title
    createdAt
    updatedAt
    credentials
    successfulAgentRuns
    successfulAgentSchedules
    totalPromptTokens
    totalCompletionTokens
    messageCount
    revision
  }
}
    `, {"hash":"sha256:3f986aa3e6e679cc7828ddfb873cc228894d4b906c9a997a95773d8c5e57abb1"}) as unknown as TypedDocumentString<CreateSessionMutation, CreateSessionMutationVariables>;
export const DeleteSessionDocument = new TypedDocumentString(`
    mutation DeleteSession($id: ID!) {
  deleteSession(id: $id)
}
    `, {"hash":"sha256:995ea5a75a33d08b59c444453d8e89f921d6d10d707e90583cb62e33a682bed1"}) as unknown as TypedDocumentString<DeleteSessionMutation, DeleteSessionMutationVariables>;
export const FailMessageDocument = new TypedDocumentString(`
    mutation FailMessage($sessionId: ID!, $messageId: ID!, $reason: String!) {
  failMessage(sessionId: $sessionId, messageId: $messageId, reason: $reason) {
    id
    sequence
    revision
    status
    failureReason
  }
}
    `, {"hash":"sha256:a16e6ee106e5be2db5b43d372fe49d4e2b22ac650c9f8f3b1f2f2e50452f846f"}) as unknown as TypedDocumentString<FailMessageMutation, FailMessageMutationVariables>;
export const GetSessionDocument = new TypedDocumentString(`
    query GetSession($id: ID!) {
  session(id: $id) {
    id
    userId
    title
    createdAt
    updatedAt
    credentials
    successfulAgentRuns
    successfulAgentSchedules
    totalPromptTokens
    totalCompletionTokens
    messageCount
    revision
    messages {
      id
      sessionId
      sequence
      role
      content
      name
      toolCallId
      refusal
      toolCalls
      functionCall
      createdAt
      updatedAt
      revision
    }
  }
}
    `, {"hash":"sha256:264a7ef88555d35b43abf60f53be09abad1116f165d7e64a23ec418e4d990500"}) as unknown as TypedDocumentString<GetSessionQuery, GetSessionQueryVariables>;
export const ListSessionsDocument = new TypedDocumentString(`
    query ListSessions($limit: Int! = 50, $offset: Int! = 0) {
  sessionCount
  sessions(limit: $limit, offset: $offset) {
    id
    userId
    title
    createdAt
    updatedAt
    credentials
    successfulAgentRuns
    successfulAgentSchedules
    totalPromptTokens
    totalCompletionTokens
    messageCount
    revision
  }
}
    `, {"hash":"sha256:bf77a55d80e826fb425ab1cf0ccc85a35987498fde13df455cf67a6b695eb8de"}) as unknown as TypedDocumentString<ListSessionsQuery, ListSessionsQueryVariables>;
export const SendMessageDocument = new TypedDocumentString(`
    mutation SendMessage($sessionId: ID!, $message: MessageInput!) {
  appendMessage(sessionId: $sessionId, message: $message) {
    id
    sessionId
    sequence
    role
    content
    name
    toolCallId
    refusal
    toolCalls
    functionCall
    createdAt
    updatedAt
    revision
    status
    deadline
    failureReason
  }
}
    `, {"hash":"sha256:a4001574a191d600daf79f81c7e68e398636973e1c0fb50cf0f889d9fafcd1f0"}) as unknown as TypedDocumentString<SendMessageMutation, SendMessageMutationVariables>;
export const SessionEventsDocument = new TypedDocumentString(`
    subscription SessionEvents($sessionId: ID!, $afterRevision: Int, $afterSequence: Int) {
  sessionEvents(
    sessionId: $sessionId
    afterRevision: $afterRevision
    afterSequence: $afterSequence
  ) {
    kind
    sessionId
    revision
    sequence
    message {
      id
      sessionId
      sequence
      role
      content
      name
      toolCallId
      refusal
      toolCalls
      functionCall
      createdAt
      updatedAt
      revision
      status
      deadline
      failureReason
    }
    appended {
      messageId
      offset
      text
      status
      deadline
      updatedAt
    }
    session {
      id
      userId
      title
      createdAt
      updatedAt
      credentials
      successfulAgentRuns
      successfulAgentSchedules
      totalPromptTokens
      totalCompletionTokens
      messageCount
      revision
    }
  }
}
    `, {"hash":"sha256:5519e80fd22a3114828a083eadc721f6d4bbf6af6d5838a424453d4ec1ae2929"}) as unknown as TypedDocumentString<SessionEventsSubscription, SessionEventsSubscriptionVariables>;
export const SessionMessagesDocument = new TypedDocumentString(`
    query SessionMessages($id: ID!, $afterSequence: Int, $beforeSequence: Int, $first: Int, $last: Int) {
  session(id: $id) {
    id
    revision
    messageCount
    messages(
      afterSequence: $afterSequence
      beforeSequence: $beforeSequence
      first: $first
      last: $last
    ) {
      id
      sessionId
      sequence
      role
      content
      name
      toolCallId
      refusal
      toolCalls
      functionCall
      createdAt
      updatedAt
      revision
      status
      deadline
      failureReason
    }
  }
}
    `, {"hash":"sha256:8ccad21fec094cdbc5a59c3490ed898c0268a3d75c61dd45ca1697194fb8f4f7"}) as unknown as TypedDocumentString<SessionMessagesQuery, SessionMessagesQueryVariables>;
export const ToolMessageUpdatedDocument = new TypedDocumentString(`
    subscription ToolMessageUpdated($sessionId: ID!, $afterRevision: Int, $afterSequence: Int) {
  toolMessageUpdated(
    sessionId: $sessionId
    afterRevision: $afterRevision
    afterSequence: $afterSequence
  ) {
    id
    sessionId
    sequence
    role
    content
    name
    toolCallId
    refusal
    toolCalls
    functionCall
    createdAt
    updatedAt
    revision
  }
}
    `, {"hash":"sha256:13c4451dc2d2bf8de5585216b733fbe708ab7ed392f8eb6055af0bcd5f0d1373"}) as unknown as TypedDocumentString<ToolMessageUpdatedSubscription, ToolMessageUpdatedSubscriptionVariables>;
export const UpdateSessionDocument = new TypedDocumentString(`
    mutation UpdateSession($id: ID!, $input: UpdateSessionInput!) {
  updateSession(id: $id, input: $input) {
    id
    userId
    title
    createdAt
    updatedAt
    credentials
    successfulAgentRuns
    successfulAgentSchedules
    totalPromptTokens
    totalCompletionTokens
    messageCount
    revision
  }
}
    `, {"hash":"sha256:8c096a1fa2910b6d5a4769852ccb55fa7531b95343cd7ee993ecd0bb56daa327"}) as unknown as TypedDocumentString<UpdateSessionMutation, UpdateSessionMutationVariables>;
export const UpdateToolResultDocument = new TypedDocumentString(`
    mutation UpdateToolResult($sessionId: ID!, $toolCallId: String!, $content: String!) {
  updateToolResult(
    sessionId: $sessionId
    toolCallId: $toolCallId
    content: $content
  ) {
    id
    sessionId
    sequence
    role
    content
    name
    toolCallId
    refusal
    toolCalls
    functionCall
    createdAt
    updatedAt
    revision
  }
}
    `, {"hash":"sha256:5f2b9e23ac93b84ee61bb37d9c4faa24244e8f6e2e97b199bb19cfd70a1e814b"}) as unknown as TypedDocumentString<UpdateToolResultMutation, UpdateToolResultMutationVariables>;