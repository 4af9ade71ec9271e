-- LINE as the doorway (issue 7). In strict mode everything sent on a
-- desk's LINE account is one of a fixed set of templates; a counsellor's
-- own words never reach the LINE API, unless a supervisor lets one
-- conversation continue there while a life is at risk (an emergency
-- exception, recorded and audited).

-- 'direct': the consultation happens on LINE; 'strict': LINE carries only
-- templates. Per desk (channel_id) or for every desk (NULL).
INSERT INTO settings (key, value, updated_by) VALUES
('line_mode', '"direct"', 'migration');
INSERT INTO settings_changes (key, new_value, changed_by)
	SELECT key, value, updated_by FROM settings WHERE key = 'line_mode';

-- The mode of a channel: its own setting, else every desk's; LINE only.
CREATE FUNCTION channel_line_mode(channel integer) RETURNS text
LANGUAGE sql STABLE AS $$
	SELECT CASE WHEN (SELECT kind FROM channels WHERE id = channel) = 'line'
	  THEN coalesce((SELECT value #>> '{}' FROM settings
	                  WHERE key = 'line_mode'
	                    AND (channel_id = channel OR channel_id IS NULL)
	                  ORDER BY channel_id NULLS LAST LIMIT 1), 'direct')
	  ELSE 'direct' END
$$;

-- Which fixed template an outbound request carries (greeting, hours,
-- busy, text_only, crisis, handoff, reply_waiting, ...); NULL: free text.
ALTER TABLE outbox ADD COLUMN template text;

-- A supervisor's emergency exception: this conversation may continue on
-- LINE until `until` (or until ended early). The reason is sealed
-- ("strict_exceptions.reason"): it may name the person's situation.
CREATE TABLE strict_exceptions (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	conversation_id	bigint NOT NULL REFERENCES conversations,
	granted_by	bigint NOT NULL REFERENCES staff,
	granted_at	timestamptz NOT NULL,
	until		timestamptz NOT NULL,
	reason		bytea NOT NULL,
	reason_key_id	smallint NOT NULL,
	ended_at	timestamptz,
	ended_by	bigint REFERENCES staff,
	CHECK (until > granted_at),
	CHECK ((ended_at IS NULL) = (ended_by IS NULL))
);
CREATE INDEX strict_exceptions_conversation
	ON strict_exceptions (conversation_id, until);

-- Whether free text may go to this conversation on LINE at this time.
CREATE FUNCTION strict_exception_active(conversation bigint, at timestamptz)
RETURNS boolean LANGUAGE sql STABLE AS $$
	SELECT EXISTS (SELECT 1 FROM strict_exceptions
	                WHERE conversation_id = conversation
	                  AND granted_at <= at AND until > at
	                  AND (ended_at IS NULL OR ended_at > at))
$$;

-- The last line of defence, whatever path wrote the row: free text for a
-- strict channel is refused unless an exception covers its conversation.
CREATE FUNCTION outbox_strict_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	conv bigint;
BEGIN
	IF channel_line_mode(NEW.channel_id) <> 'strict' THEN
		RETURN NEW;
	END IF;
	SELECT conversation_id INTO conv FROM messages WHERE id = NEW.message_id;
	IF conv IS NULL OR NOT strict_exception_active(conv, NEW.created_at) THEN
		RAISE EXCEPTION 'strict mode: only templates may be sent on LINE'
		      USING ERRCODE = 'MDG01';
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER outbox_strict_guard BEFORE INSERT ON outbox
	FOR EACH ROW WHEN (NEW.template IS NULL)
	EXECUTE FUNCTION outbox_strict_guard();

-- The conversation's history shows the exception, granted and ended.
ALTER TABLE conversation_events DROP CONSTRAINT conversation_events_kind_check,
	ADD CONSTRAINT conversation_events_kind_check CHECK (kind IN ('note',
	'claimed', 'released', 'transferred', 'closed', 'auto_closed',
	'nickname', 'crisis_raised', 'crisis_lowered', 'due_soon', 'overdue',
	'long_session', 'strict_exception', 'strict_exception_ended'));
