-- Crisis safety: each inbound text's level as the detector found it, the
-- conversation raised in the same transaction, a record of each rise for
-- alerts and acknowledgement, and an audit trail that cannot be rewritten
-- without it showing.

-- What the detector found (crisis/): 0 none, 1 medium, 2 high; the rule
-- names the lexicon line, never the message's words. The context level is
-- what the message would have if recent messages gave cause for concern;
-- the trigger below decides, and the columns keep both for the record.
ALTER TABLE messages
	ADD COLUMN crisis_level smallint NOT NULL DEFAULT 0
		CHECK (crisis_level BETWEEN 0 AND 2),
	ADD COLUMN crisis_rule text,
	ADD COLUMN crisis_context_level smallint NOT NULL DEFAULT 0
		CHECK (crisis_context_level BETWEEN 0 AND 2),
	ADD COLUMN crisis_context_rule text;

ALTER TABLE conversations
	ADD COLUMN crisis_raised_at timestamptz;

-- One row each time a conversation's level rises, by the detector or by a
-- counsellor's hand, and each time a counsellor lowers it. A rise to high
-- is alerted until someone acknowledges it.
CREATE TABLE crisis_events (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	conversation_id	bigint NOT NULL REFERENCES conversations,
	message_id	bigint REFERENCES messages,
	source		text NOT NULL CHECK (source IN ('detected', 'raised', 'lowered')),
	level		smallint NOT NULL CHECK (level BETWEEN 0 AND 2),
	previous_level	smallint NOT NULL,
	rule		text,			-- detected: the lexicon line
	reason		bytea,			-- raised/lowered: sealed
	reason_key_id	smallint,		-- "crisis_events.reason"
	staff_id	bigint REFERENCES staff,
	at		timestamptz NOT NULL,
	acknowledged_at	timestamptz,
	acknowledged_by	bigint REFERENCES staff,
	alerts_sent	integer NOT NULL DEFAULT 0,
	next_alert_at	timestamptz,		-- NULL: nothing more to send
	CHECK ((reason IS NULL) = (reason_key_id IS NULL))
);
CREATE INDEX crisis_events_conversation ON crisis_events (conversation_id, id);
-- The alert worker's queue: only what still needs an alert.
CREATE INDEX crisis_events_alert_due ON crisis_events (next_alert_at)
	WHERE next_alert_at IS NOT NULL AND acknowledged_at IS NULL;

-- A message that may mean more after earlier worries ("さよなら" after
-- "もう無理") takes its context level when one of the conversation's last
-- five inbound messages, within a day, had any. A BEFORE trigger sees the
-- rows this statement inserted before it, so messages of one batch count.
CREATE FUNCTION messages_crisis_context() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF EXISTS (SELECT 1 FROM (SELECT crisis_level FROM messages
	                           WHERE conversation_id = NEW.conversation_id
	                             AND direction = 'in'
	                             AND received_at > NEW.received_at - interval '1 day'
	                           ORDER BY id DESC LIMIT 5) recent
	            WHERE crisis_level > 0) THEN
		NEW.crisis_level := NEW.crisis_context_level;
		NEW.crisis_rule := NEW.crisis_context_rule;
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER messages_crisis_context BEFORE INSERT ON messages
	FOR EACH ROW WHEN (NEW.crisis_context_level > NEW.crisis_level)
	EXECUTE FUNCTION messages_crisis_context();

-- A detected level raises the conversation, once per rise, in the
-- transaction that stores the message. AFTER: it sees the conversation
-- even when the same statement opened it. A plain UPDATE (no FOR UPDATE):
-- its lock does not conflict with the KEY SHARE that ingest batches take,
-- so two processes storing messages of one person cannot deadlock here.
-- The first alert of a rise to high is due at once.
CREATE FUNCTION messages_crisis_raise() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	before smallint;
BEGIN
	UPDATE conversations c SET crisis_level = NEW.crisis_level,
	       crisis_raised_at = NEW.received_at
	  FROM (SELECT crisis_level FROM conversations
	         WHERE id = NEW.conversation_id) o
	 WHERE c.id = NEW.conversation_id AND c.crisis_level < NEW.crisis_level
	RETURNING o.crisis_level INTO before;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	INSERT INTO crisis_events (conversation_id, message_id, source, level,
	       previous_level, rule, at, next_alert_at)
	VALUES (NEW.conversation_id, NEW.id, 'detected', NEW.crisis_level,
	       least(before, NEW.crisis_level - 1), NEW.crisis_rule,
	       NEW.received_at,
	       CASE WHEN NEW.crisis_level = 2 THEN NEW.received_at END);
	PERFORM pg_notify('madoguchi_crisis', json_build_object(
	        'conversation', NEW.conversation_id,
	        'level', NEW.crisis_level)::text);
	RETURN NULL;
END $$;
CREATE TRIGGER messages_crisis_raise AFTER INSERT ON messages
	FOR EACH ROW WHEN (NEW.crisis_level > 0 AND NEW.direction = 'in')
	EXECUTE FUNCTION messages_crisis_raise();

-- ---- the audit trail, hash-chained ----
--
-- Each entry's hash covers the one before and its own content, so an entry
-- altered or removed by hand breaks the chain from there on; `madoguchi
-- audit verify` recomputes it outside the database. Entries take their
-- place in the chain under a lock held to commit, so the chain's order is
-- the order in which entries became visible, across processes.
ALTER TABLE audit_log
	ADD COLUMN prev_hash bytea,
	ADD COLUMN hash bytea;

-- The text an entry's hash covers. `audit verify` builds the same text
-- from the same columns; change both or neither.
CREATE FUNCTION audit_entry_text(e audit_log) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
	SELECT concat_ws(E'\x1f', e.id::text,
	    to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
	    coalesce(e.staff_id::text, ''), e.actor, e.action,
	    coalesce(e.object_type, ''), coalesce(e.object_id::text, ''),
	    coalesce(e.detail::text, ''), coalesce(host(e.ip), ''))
$$;

CREATE FUNCTION audit_log_chain() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	last audit_log;
BEGIN
	-- One writer at a time, to commit: 0x6d61646f = "mado".
	PERFORM pg_advisory_xact_lock(1835099247, 1);
	-- Taken after the lock, so ids follow the chain's order.
	NEW.id := nextval(pg_get_serial_sequence('audit_log', 'id'));
	SELECT * INTO last FROM audit_log ORDER BY id DESC LIMIT 1;
	NEW.prev_hash := CASE WHEN last.id IS NULL THEN '\x'::bytea
	                      ELSE last.hash END;
	NEW.hash := sha256(NEW.prev_hash || convert_to(audit_entry_text(NEW), 'UTF8'));
	RETURN NEW;
END $$;

-- Entries made before this migration join the chain in id order.
DO $$
DECLARE
	e audit_log;
	prev bytea := '\x';
BEGIN
	FOR e IN SELECT * FROM audit_log ORDER BY id LOOP
		UPDATE audit_log SET prev_hash = prev,
		       hash = sha256(prev || convert_to(audit_entry_text(e), 'UTF8'))
		 WHERE id = e.id RETURNING hash INTO prev;
	END LOOP;
END $$;
ALTER TABLE audit_log
	ALTER COLUMN prev_hash SET NOT NULL,
	ALTER COLUMN hash SET NOT NULL;

CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log
	FOR EACH ROW EXECUTE FUNCTION audit_log_chain();

-- Append-only: no role that runs the application may change or remove an
-- entry. (deploy/ also grants the application role INSERT and SELECT only;
-- a superuser can still disable this trigger, which the chain then shows.)
CREATE FUNCTION audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = '42501';
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
	FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
	FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- Desks add lexicon lines here (format: crisis/crisis.h).
INSERT INTO settings (key, value, updated_by) VALUES
('crisis_terms', '[]', 'migration');
