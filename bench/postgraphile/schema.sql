-- What the peer exposes beside our tables (schema public): appendMessage, a mutation that does
-- what our appendMessage's one statement does (db/messages.py `_appended_at_once`): bump the
-- caller's session's revision and message count (the UPDATE locks the row, so concurrent
-- appends to one session queue there), and insert the message with the next sequence, the
-- session's new revision and time. Nothing is written when the session is not the caller's.
CREATE SCHEMA IF NOT EXISTS bench_peer;

CREATE OR REPLACE FUNCTION bench_peer.append_message(
  session_id uuid,
  role text,
  content text,
  tool_call_id text,
  tool_calls jsonb
) RETURNS public.chat_message
LANGUAGE sql VOLATILE AS $$
  WITH claim AS (
    UPDATE public.chat_session
    SET revision = revision + 1, message_count = message_count + 1, updated_at = now()
    WHERE id = append_message.session_id
      AND user_id = current_setting('jwt.claims.sub', true)
    RETURNING revision, message_count, updated_at
  )
  INSERT INTO public.chat_message
    (id, session_id, sequence, role, content, tool_call_id, tool_calls, status,
     created_at, updated_at, revision)
  SELECT gen_random_uuid(), append_message.session_id, claim.message_count - 1,
    append_message.role, append_message.content, append_message.tool_call_id,
    append_message.tool_calls, 'COMPLETE', claim.updated_at, claim.updated_at, claim.revision
  FROM claim
  RETURNING *
$$;
