/* eslint-disable */
import * as types from './graphql';



/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "mutation AddTokenUsage($sessionId: ID!, $promptTokens: Int!, $completionTokens: Int!) {\n  addTokenUsage(\n    sessionId: $sessionId\n    promptTokens: $promptTokens\n    completionTokens: $completionTokens\n  ) {\n    id\n    userId\n    title\n    createdAt\n    updatedAt\n    credentials\n    successfulAgentRuns\n    successfulAgentSchedules\n    totalPromptTokens\n    totalCompletionTokens\n    messageCount\n    revision\n  }\n}": typeof types.AddTokenUsageDocument,
    "mutation AppendMessage($sessionId: ID!, $message: MessageInput!) {\n  appendMessage(sessionId: $sessionId, message: $message) {\n    id\n    sessionId\n    sequence\n    role\n    content\n    name\n    toolCallId\n    refusal\n    toolCalls\n    functionCall\n    createdAt\n    updatedAt\n    revision\n  }\n}": typeof types.AppendMessageDocument,
    "mutation AppendMessageContent($sessionId: ID!, $messageId: ID!, $text: String!, $done: Boolean! = false, $deadline: DateTime) {\n  appendMessageContent(\n    sessionId: $sessionId\n    messageId: $messageId\n    text: $text\n    done: $done\n    deadline: $deadline\n  ) {\n    id\n    sequence\n    revision\n    status\n    deadline\n    updatedAt\n  }\n}": typeof types.AppendMessageContentDocument,
    "mutation AppendMessages($sessionId: ID!, $messages: [MessageInput!]!) {\n  appendMessages(sessionId: $sessionId, messages: $messages) {\n    id\n    sessionId\n    sequence\n    role\n    content\n    name\n    toolCallId\n    refusal\n    toolCalls\n    functionCall\n    createdAt\n    updatedAt\n    revision\n  }\n}": typeof types.AppendMessagesDocument,
    "query ChatList($limit: Int! = 50) {\n  sessions(limit: $limit) {\n    id\n    title\n    updatedAt\n    revision\n    messages(first: 5) {\n      sequence\n      role\n      content\n    }\n  }\n}": typeof types.ChatListDocument,
    "query ChatPage($id: ID!, $last: Int! = 50, $beforeSequence: Int) {\n  session(id: $id) {\n    id\n    title\n    revision\n    messageCount\n    updatedAt\n    opening: messages(first: 5) {\n      sequence\n      role\n      content\n    }\n    messages(last: $last, beforeSequence: $beforeSequence) {\n      id\n      sessionId\n      sequence\n      role\n      content\n      name\n      toolCallId\n      refusal\n      toolCalls\n      functionCall\n      createdAt\n      updatedAt\n      revision\n      status\n      deadline\n      failureReason\n    }\n  }\n}": typeof types.ChatPageDocument,
    "mutation CreateSession($input: CreateSessionInput) {\n  createSession(input: $input) {\n    id\n    userId\n    title\n    createdAt\n    updatedAt\n    credentials\n    successfulAgentRuns\n    successfulAgentSchedules\n    totalPromptTokens\n    totalCompletionTokens\n    messageCount\n    revision\n  }\n}": typeof types.CreateSessionDocument,
    "mutation DeleteSession($id: ID!) {\n  deleteSession(id: $id)\n}": typeof types.DeleteSessionDocument,
    "mutation FailMessage($sessionId: ID!, $messageId: ID!, $reason: String!) {\n  failMessage(sessionId: $sessionId, messageId: $messageId, reason: $reason) {\n    id\n    sequence\n    revision\n    status\n    failureReason\n  }\n}": typeof types.FailMessageDocument,
    "query GetSession($id: ID!) {\n  session(id: $id) {\n    id\n    userId\n    title\n    createdAt\n    updatedAt\n    credentials\n    successfulAgentRuns\n    successfulAgentSchedules\n    totalPromptTokens\n    totalCompletionTokens\n    messageCount\n    revision\n    messages {\n      id\n      sessionId\n      sequence\n      role\n      content\n      name\n      toolCallId\n      refusal\n      toolCalls\n      functionCall\n      createdAt\n      updatedAt\n      revision\n    }\n  }\n}": typeof types.GetSessionDocument,
    "query ListSessions($limit: Int! = 50, $offset: Int! = 0) {\n  sessionCount\n  sessions(limit: $limit, offset: $offset) {\n    id\n    userId\n    title\n    createdAt\n    updatedAt\n    credentials\n    successfulAgentRuns\n    successfulAgentSchedules\n    totalPromptTokens\n    totalCompletionTokens\n    messageCount\n    revision\n  }\n}": typeof types.ListSessionsDocument,
    "mutation SendMessage($sessionId: ID!, $message: MessageInput!) {\n  appendMessage(sessionId: $sessionId, message: $message) {\n    id\n    sessionId\n    sequence\n    role\n    content\n    name\n    toolCallId\n    refusal\n    toolCalls\n    functionCall\n    createdAt\n    updatedAt\n    revision\n    status\n    deadline\n    failureReason\n  }\n}": typeof types.SendMessageDocument,
    "subscription SessionEvents($sessionId: ID!, $afterRevision: Int, $afterSequence: Int) {\n  sessionEvents(\n    sessionId: $sessionId\n    afterRevision: $afterRevision\n    afterSequence: $afterSequence\n  ) {\n    kind\n    sessionId\n    revision\n    sequence\n    message {\n      id\n      sessionId\n      sequence\n      role\n      content\n      name\n      toolCallId\n      refusal\n      toolCalls\n      functionCall\n      createdAt\n      updatedAt\n      revision\n      status\n      deadline\n      failureReason\n    }\n    appended {\n      messageId\n      offset\n      text\n      status\n      deadline\n      updatedAt\n    }\n    session {\n      id\n      userId\n      title\n      createdAt\n      updatedAt\n      credentials\n      successfulAgentRuns\n      successfulAgentSchedules\n      totalPromptTokens\n      totalCompletionTokens\n      messageCount\n      revision\n    }\n  }\n}": typeof types.SessionEventsDocument,
    "query SessionMessages($id: ID!, $afterSequence: Int, $beforeSequence: Int, $first: Int, $last: Int) {\n  session(id: $id) {\n    id\n    revision\n    messageCount\n    messages(\n      afterSequence: $afterSequence\n      beforeSequence: $beforeSequence\n      first: $first\n      last: $last\n    ) {\n      id\n      sessionId\n      sequence\n      role\n      content\n      name\n      toolCallId\n      refusal\n      toolCalls\n      functionCall\n      createdAt\n      updatedAt\n      revision\n      status\n      deadline\n      failureReason\n    }\n  }\n}": typeof types.SessionMessagesDocument,
    "subscription ToolMessageUpdated($sessionId: ID!, $afterRevision: Int, $afterSequence: Int) {\n  toolMessageUpdated(\n    sessionId: $sessionId\n    afterRevision: $afterRevision\n    afterSequence: $afterSequence\n  ) {\n    id\n    sessionId\n    sequence\n    role\n    content\n    name\n    toolCallId\n    refusal\n    toolCalls\n    functionCall\n    createdAt\n    updatedAt\n    revision\n  }\n}": typeof types.ToolMessageUpdatedDocument,
    "mutation UpdateSession($id: ID!, $input: UpdateSessionInput!) {\n  updateSession(id: $id, input: $input) {\n    id\n    userId\n    title\n    createdAt\n    updatedAt\n    credentials\n    successfulAgentRuns\n    successfulAgentSchedules\n    totalPromptTokens\n    totalCompletionTokens\n    messageCount\n    revision\n  }\n}": typeof types.UpdateSessionDocument,
    "mutation UpdateToolResult($sessionId: ID!, $toolCallId: String!, $content: String!) {\n  updateToolResult(\n    sessionId: $sessionId\n    toolCallId: $toolCallId\n    content: $content\n  ) {\n    id\n    sessionId\n    sequence\n    role\n    content\n    name\n    toolCallId\n    refusal\n    toolCalls\n    functionCall\n    createdAt\n    updatedAt\n    revision\n  }\n}": typeof types.UpdateToolResultDocument,
};
const documents: Documents = {
    "mutation AddTokenUsage($sessionId: ID!, $promptTokens: Int!, $completionTokens: Int!) {\n  addTokenUsage(\n    sessionId: $sessionId\n    promptTokens: $promptTokens\n    completionTokens: $completionTokens\n  ) {\n    id\n    userId\n    title\n    createdAt\n    updatedAt\n    credentials\n    successfulAgentRuns\n    successfulAgentSchedules\n    totalPromptTokens\n    totalCompletionTokens\n    messageCount\n    revision\n  }\n}": types.AddTokenUsageDocument,
    "mutation AppendMessage($sessionId: ID!, $message: MessageInput!) {\n  appendMessage(sessionId: $sessionId, message: $message) {\n    id\n    sessionId\n    sequence\n    role\n    content\n    name\n    toolCallId\n    refusal\n    toolCalls\n    functionCall\n    createdAt\n    updatedAt\n    revision\n  }\n}": types.AppendMessageDocument,
    "mutation AppendMessageContent($sessionId: ID!, $messageId: ID!, $text: String!, $done: Boolean! = false, $deadline: DateTime) {\n  appendMessageContent(\n    sessionId: $sessionId\n    messageId: $messageId\n    text: $text\n    done: $done\n    deadline: $deadline\n  ) {\n    id\n    sequence\n    revision\n    status\n    deadline\n    updatedAt\n  }\n}": types.AppendMessageContentDocument,
    "mutation AppendMessages($sessionId: ID!, $messages: [MessageInput!]!) {\n  appendMessages(sessionId: $sessionId, messages: $messages) {\n    id\n    sessionId\n    sequence\n    role\n    content\n    name\n    toolCallId\n    refusal\n    toolCalls\n    functionCall\n    createdAt\n    updatedAt\n    revision\n  }\n}": types.AppendMessagesDocument,
    "query ChatList($limit: Int! = 50) {\n  sessions(limit: $limit) {\n    id\n    title\n    updatedAt\n    revision\n    messages(first: 5) {\n      sequence\n      role\n      content\n    }\n  }\n}": types.ChatListDocument,
    "query ChatPage($id: ID!, $last: Int! = 50, $beforeSequence: Int) {\n  session(id: $id) {\n    id\n    title\n    revision\n    messageCount\n    updatedAt\n    opening: messages(first: 5) {\n      sequence\n      role\n      content\n    }\n    messages(last: $last, beforeSequence: $beforeSequence) {\n      id\n      sessionId\n      sequence\n      role\n      content\n      name\n      toolCallId\n      refusal\n      toolCalls\n      functionCall\n      createdAt\n      updatedAt\n      revision\n      status\n      deadline\n      failureReason\n    }\n  }\n}": types.ChatPageDocument,
    "mutation CreateSession($input: CreateSessionInput) {\n  createSession(input: $input) {\n    id\n    userId\n    title\n    createdAt\n    updatedAt\n    credentials\n    successfulAgentRuns\n    successfulAgentSchedules\n    totalPromptTokens\n    totalCompletionTokens\n    messageCount\n    revision\n  }\n}": types.CreateSessionDocument,
    "mutation DeleteSession($id: ID!) {\n  deleteSession(id: $id)\n}": types.DeleteSessionDocument,
    "mutation FailMessage($sessionId: ID!, $messageId: ID!, $reason: String!) {\n  failMessage(sessionId: $sessionId, messageId: $messageId, reason: $reason) {\n    id\n    sequence\n    revision\n    status\n    failureReason\n  }\n}": types.FailMessageDocument,
    "query GetSession($id: ID!) {\n  session(id: $id) {\n    id\n    userId\n    title\n    createdAt\n    updatedAt\n    credentials\n    successfulAgentRuns\n    successfulAgentSchedules\n    totalPromptTokens\n    totalCompletionTokens\n    messageCount\n    revision\n    messages {\n      id\n      sessionId\n      sequence\n      role\n      content\n      name\n      toolCallId\n      refusal\n      toolCalls\n      functionCall\n      createdAt\n      updatedAt\n      revision\n    }\n  }\n}": types.GetSessionDocument,
    "query ListSessions($limit: Int! = 50, $offset: Int! = 0) {\n  sessionCount\n  sessions(limit: $limit, offset: $offset) {\n    id\n    userId\n    title\n    createdAt\n    updatedAt\n    credentials\n    successfulAgentRuns\n    successfulAgentSchedules\n    totalPromptTokens\n    totalCompletionTokens\n    messageCount\n    revision\n  }\n}": types.ListSessionsDocument,
    "mutation SendMessage($sessionId: ID!, $message: MessageInput!) {\n  appendMessage(sessionId: $sessionId, message: $message) {\n    id\n    sessionId\n    sequence\n    role\n    content\n    name\n    toolCallId\n    refusal\n    toolCalls\n    functionCall\n    createdAt\n    updatedAt\n    revision\n    status\n    deadline\n    failureReason\n  }\n}": types.SendMessageDocument,
    "subscription SessionEvents($sessionId: ID!, $afterRevision: Int, $afterSequence: Int) {\n  sessionEvents(\n    sessionId: $sessionId\n    afterRevision: $afterRevision\n    afterSequence: $afterSequence\n  ) {\n    kind\n    sessionId\n    revision\n    sequence\n    message {\n      id\n      sessionId\n      sequence\n      role\n      content\n      name\n      toolCallId\n      refusal\n      toolCalls\n      functionCall\n      createdAt\n      updatedAt\n      revision\n      status\n      deadline\n      failureReason\n    }\n    appended {\n      messageId\n      offset\n      text\n      status\n      deadline\n      updatedAt\n    }\n    session {\n      id\n      userId\n      title\n      createdAt\n      updatedAt\n      credentials\n      successfulAgentRuns\n      successfulAgentSchedules\n      totalPromptTokens\n      totalCompletionTokens\n      messageCount\n      revision\n    }\n  }\n}": types.SessionEventsDocument,
    "query SessionMessages($id: ID!, $afterSequence: Int, $beforeSequence: Int, $first: Int, $last: Int) {\n  session(id: $id) {\n    id\n    revision\n    messageCount\n    messages(\n      afterSequence: $afterSequence\n      beforeSequence: $beforeSequence\n      first: $first\n      last: $last\n    ) {\n      id\n      sessionId\n      sequence\n      role\n      content\n      name\n      toolCallId\n      refusal\n      toolCalls\n      functionCall\n      createdAt\n      updatedAt\n      revision\n      status\n      deadline\n      failureReason\n    }\n  }\n}": types.SessionMessagesDocument,
    "subscription ToolMessageUpdated($sessionId: ID!, $afterRevision: Int, $afterSequence: Int) {\n  toolMessageUpdated(\n    sessionId: $sessionId\n    afterRevision: $afterRevision\n    afterSequence: $afterSequence\n  ) {\n    id\n    sessionId\n    sequence\n    role\n    content\n    name\n    toolCallId\n    refusal\n    toolCalls\n    functionCall\n    createdAt\n    updatedAt\n    revision\n  }\n}": types.ToolMessageUpdatedDocument,
    "mutation UpdateSession($id: ID!, $input: UpdateSessionInput!) {\n  updateSession(id: $id, input: $input) {\n    id\n    userId\n    title\n    createdAt\n    updatedAt\n    credentials\n    successfulAgentRuns\n    successfulAgentSchedules\n    totalPromptTokens\n    totalCompletionTokens\n    messageCount\n    revision\n  }\n}": types.UpdateSessionDocument,
    "mutation UpdateToolResult($sessionId: ID!, $toolCallId: String!, $content: String!) {\n  updateToolResult(\n    sessionId: $sessionId\n    toolCallId: $toolCallId\n    content: $content\n  ) {\n    id\n    sessionId\n    sequence\n    role\n    content\n    name\n    toolCallId\n    refusal\n    toolCalls\n    functionCall\n    createdAt\n    updatedAt\n    revision\n  }\n}": types.UpdateToolResultDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation AddTokenUsage($sessionId: ID!, $promptTokens: Int!, $completionTokens: Int!) {\n  addTokenUsage(\n    sessionId: $sessionId\n    promptTokens: $promptTokens\n    completionTokens: $completionTokens\n  ) {\n    id\n    userId\n    title\n    createdAt\n    updatedAt\n    credentials\n    successfulAgentRuns\n    successfulAgentSchedules\n    totalPromptTokens\n    totalCompletionTokens\n    messageCount\n    revision\n  }\n}"): typeof import('./graphql').AddTokenUsageDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation AppendMessage($sessionId: ID!, $message: MessageInput!) {\n  appendMessage(sessionId: $sessionId, message: $message) {\n    id\n    sessionId\n    sequence\n    role\n    content\n    name\n    toolCallId\n    refusal\n    toolCalls\n    functionCall\n    createdAt\n    updatedAt\n    revision\n  }\n}"): typeof import('./graphql').AppendMessageDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation AppendMessageContent($sessionId: ID!, $messageId: ID!, $text: String!, $done: Boolean! = false, $deadline: DateTime) {\n  appendMessageContent(\n    sessionId: $sessionId\n    messageId: $messageId\n    text: $text\n    done: $done\n    deadline: $deadline\n  ) {\n    id\n    sequence\n    revision\n    status\n    deadline\n    updatedAt\n  }\n}"): typeof import('./graphql').AppendMessageContentDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation AppendMessages($sessionId: ID!, $messages: [MessageInput!]!) {\n  appendMessages(sessionId: $sessionId, messages: $messages) {\n    id\n    sessionId\n    sequence\n    role\n    content\n    name\n    toolCallId\n    refusal\n    toolCalls\n    functionCall\n    createdAt\n    updatedAt\n    revision\n  }\n}"): typeof import('./graphql').AppendMessagesDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query ChatList($limit: Int! = 50) {\n  sessions(limit: $limit) {\n    id\n    title\n    updatedAt\n    revision\n    messages(first: 5) {\n      sequence\n      role\n      content\n    }\n  }\n}"): typeof import('./graphql').ChatListDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query ChatPage($id: ID!, $last: Int! = 50, $beforeSequence: Int) {\n  session(id: $id) {\n    id\n    title\n    revision\n    messageCount\n    updatedAt\n    opening: messages(first: 5) {\n      sequence\n      role\n      content\n    }\n    messages(last: $last, beforeSequence: $beforeSequence) {\n      id\n      sessionId\n      sequence\n      role\n      content\n      name\n      toolCallId\n      refusal\n      toolCalls\n      functionCall\n      createdAt\n      updatedAt\n      revision\n      status\n      deadline\n      failureReason\n    }\n  }\n}"): typeof import('./graphql').ChatPageDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation CreateSession($input: CreateSessionInput) {\n  createSession(input: $input) {\n    id\n    userId\n    title\n    createdAt\n    updatedAt\n    credentials\n    successfulAgentRuns\n    successfulAgentSchedules\n    totalPromptTokens\n    totalCompletionTokens\n    messageCount\n    revision\n  }\n}"): typeof import('./graphql').CreateSessionDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation DeleteSession($id: ID!) {\n  deleteSession(id: $id)\n}"): typeof import('./graphql').DeleteSessionDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation FailMessage($sessionId: ID!, $messageId: ID!, $reason: String!) {\n  failMessage(sessionId: $sessionId, messageId: $messageId, reason: $reason) {\n    id\n    sequence\n    revision\n    status\n    failureReason\n  }\n}"): typeof import('./graphql').FailMessageDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query GetSession($id: ID!) {\n  session(id: $id) {\n    id\n    userId\n    title\n    createdAt\n    updatedAt\n    credentials\n    successfulAgentRuns\n    successfulAgentSchedules\n    totalPromptTokens\n    totalCompletionTokens\n    messageCount\n    revision\n    messages {\n      id\n      sessionId\n      sequence\n      role\n      content\n      name\n      toolCallId\n      refusal\n      toolCalls\n      functionCall\n      createdAt\n      updatedAt\n      revision\n    }\n  }\n}"): typeof import('./graphql').GetSessionDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query ListSessions($limit: Int! = 50, $offset: Int! = 0) {\n  sessionCount\n  sessions(limit: $limit, offset: $offset) {\n    id\n    userId\n    title\n    createdAt\n    updatedAt\n    credentials\n    successfulAgentRuns\n    successfulAgentSchedules\n    totalPromptTokens\n    totalCompletionTokens\n    messageCount\n    revision\n  }\n}"): typeof import('./graphql').ListSessionsDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation SendMessage($sessionId: ID!, $message: MessageInput!) {\n  appendMessage(sessionId: $sessionId, message: $message) {\n    id\n    sessionId\n    sequence\n    role\n    content\n    name\n    toolCallId\n    refusal\n    toolCalls\n    functionCall\n    createdAt\n    updatedAt\n    revision\n    status\n    deadline\n    failureReason\n  }\n}"): typeof import('./graphql').SendMessageDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "subscription SessionEvents($sessionId: ID!, $afterRevision: Int, $afterSequence: Int) {\n  sessionEvents(\n    sessionId: $sessionId\n    afterRevision: $afterRevision\n    afterSequence: $afterSequence\n  ) {\n    kind\n    sessionId\n    revision\n    sequence\n    message {\n      id\n      sessionId\n      sequence\n      role\n      content\n      name\n      toolCallId\n      refusal\n      toolCalls\n      functionCall\n      createdAt\n      updatedAt\n      revision\n      status\n      deadline\n      failureReason\n    }\n    appended {\n      messageId\n      offset\n      text\n      status\n      deadline\n      updatedAt\n    }\n    session {\n      id\n      userId\n      title\n      createdAt\n      updatedAt\n      credentials\n      successfulAgentRuns\n      successfulAgentSchedules\n      totalPromptTokens\n      totalCompletionTokens\n      messageCount\n      revision\n    }\n  }\n}"): typeof import('./graphql').SessionEventsDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query SessionMessages($id: ID!, $afterSequence: Int, $beforeSequence: Int, $first: Int, $last: Int) {\n  session(id: $id) {\n    id\n    revision\n    messageCount\n    messages(\n      afterSequence: $afterSequence\n      beforeSequence: $beforeSequence\n      first: $first\n      last: $last\n    ) {\n      id\n      sessionId\n      sequence\n      role\n      content\n      name\n      toolCallId\n      refusal\n      toolCalls\n      functionCall\n      createdAt\n      updatedAt\n      revision\n      status\n      deadline\n      failureReason\n    }\n  }\n}"): typeof import('./graphql').SessionMessagesDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "subscription ToolMessageUpdated($sessionId: ID!, $afterRevision: Int, $afterSequence: Int) {\n  toolMessageUpdated(\n    sessionId: $sessionId\n    afterRevision: $afterRevision\n    afterSequence: $afterSequence\n  ) {\n    id\n    sessionId\n    sequence\n    role\n    content\n    name\n    toolCallId\n    refusal\n    toolCalls\n    functionCall\n    createdAt\n    updatedAt\n    revision\n  }\n}"): typeof import('./graphql').ToolMessageUpdatedDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation UpdateSession($id: ID!, $input: UpdateSessionInput!) {\n  updateSession(id: $id, input: $input) {\n    id\n    userId\n    title\n    createdAt\n    updatedAt\n    credentials\n    successfulAgentRuns\n    successfulAgentSchedules\n    totalPromptTokens\n    totalCompletionTokens\n    messageCount\n    revision\n  }\n}"): typeof import('./graphql').UpdateSessionDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation UpdateToolResult($sessionId: ID!, $toolCallId: String!, $content: String!) {\n  updateToolResult(\n    sessionId: $sessionId\n    toolCallId: $toolCallId\n    content: $content\n  ) {\n    id\n    sessionId\n    sequence\n    role\n    content\n    name\n    toolCallId\n    refusal\n    toolCalls\n    functionCall\n    createdAt\n    updatedAt\n    revision\n  }\n}"): typeof import('./graphql').UpdateToolResultDocument;


export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}
