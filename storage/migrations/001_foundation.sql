-- 001 foundation: channels, contacts, conversations, messages, webhook dedupe,
-- and ingest_events(), the one statement that stores a batch of deliveries.
--
-- Text columns that hold what a person told the desk are bytea sealed by the
-- application (AES-256-GCM, see lib/seal.h) with the key id beside them: a
-- dump of this database alone reveals no consultation.
-- Kinds and states are text with CHECK constraints rather than enums, so
-- later migrations can widen them inside a transaction.

CREATE TABLE channels (
	id		integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	kind		text NOT NULL CHECK (kind IN ('line', 'webchat', 'email')),
	name		text NOT NULL,
	-- direct: the consultation happens on the channel; strict: the channel
	-- is only a doorway to the desk's own web chat (government guidance).
	mode		text NOT NULL DEFAULT 'direct' CHECK (mode IN ('direct', 'strict')),
	created_at	timestamptz NOT NULL DEFAULT now(),
	UNIQUE (kind, name)
);

CREATE TABLE contacts (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	channel_id	integer NOT NULL REFERENCES channels,
	-- the channel's own id for the person (LINE userId); never shown to staff
	external_id	text NOT NULL,
	follow_state	text NOT NULL DEFAULT 'unknown'
			CHECK (follow_state IN ('unknown', 'following', 'blocked')),
	followed_at	timestamptz,
	blocked_since	timestamptz,
	-- occurred_at of the follow/unfollow that set follow_state, so an older
	-- event delivered late never overrides a newer one
	follow_changed_at timestamptz,
	first_seen_at	timestamptz NOT NULL,
	UNIQUE (channel_id, external_id)
);

CREATE TABLE conversations (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	contact_id	bigint NOT NULL REFERENCES contacts,
	channel_id	integer NOT NULL REFERENCES channels,
	state		text NOT NULL DEFAULT 'waiting'
			CHECK (state IN ('waiting', 'active', 'waiting_for_user', 'closed')),
	crisis_level	smallint NOT NULL DEFAULT 0,
	priority	smallint NOT NULL DEFAULT 0,
	reply_due_at	timestamptz,
	opened_at	timestamptz NOT NULL,
	closed_at	timestamptz,
	CHECK ((state = 'closed') = (closed_at IS NOT NULL))
);
-- At most one open conversation per contact: new messages attach to it.
CREATE UNIQUE INDEX conversations_one_open ON conversations (contact_id)
	WHERE state <> 'closed';

CREATE TABLE messages (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	conversation_id	bigint NOT NULL REFERENCES conversations,
	contact_id	bigint NOT NULL REFERENCES contacts,
	direction	text NOT NULL CHECK (direction IN ('in', 'out', 'auto', 'system')),
	kind		text NOT NULL CHECK (kind IN
			('text', 'image', 'video', 'audio', 'file', 'location', 'sticker', 'other')),
	-- false: received but not accepted (the desk takes text only); its
	-- content was never fetched and is not stored
	accepted	boolean NOT NULL,
	external_id	text,		-- the channel's message id
	body		bytea,		-- sealed, "messages.body"
	body_key_id	smallint,
	sent_at		timestamptz NOT NULL,	-- when the person sent it
	received_at	timestamptz NOT NULL,
	unsent_at	timestamptz,	-- the person retracted it; body erased
	CHECK ((body IS NULL) = (body_key_id IS NULL)),
	CHECK (accepted OR body IS NULL)
);
CREATE INDEX messages_conversation ON messages (conversation_id, id);
CREATE INDEX messages_contact ON messages (contact_id, id);

-- Every delivered event once, by the channel's event id: redeliveries and
-- duplicates stop here.
CREATE TABLE webhook_events (
	channel_id	integer NOT NULL REFERENCES channels,
	event_key	text NOT NULL,
	kind		text NOT NULL,
	occurred_at	timestamptz NOT NULL,
	received_at	timestamptz NOT NULL,
	redelivery	boolean NOT NULL,
	reply_token	text,		-- single use, valid about a minute
	PRIMARY KEY (channel_id, event_key)
);

-- One normalised event as the receivers hand it over (see storage.h).
CREATE TYPE inbound_event AS (
	ord		integer,
	event_key	text,
	kind		text,		-- message, follow, unfollow, unsend
	contact_ref	text,
	message_kind	text,
	message_ref	text,
	body		bytea,
	body_key_id	smallint,
	occurred_at	timestamptz,
	redelivery	boolean,
	reply_token	text,
	unblocked	boolean
);

-- Stores a batch of events (a JSON array of inbound_event objects) in one
-- statement, so one commit covers many deliveries. Returns how many events
-- were new and how many had been stored before.
CREATE FUNCTION ingest_events(p_channel_kind text, p_channel_name text,
		p_received_at timestamptz, p_events jsonb,
		OUT stored integer, OUT duplicates integer)
LANGUAGE plpgsql AS $$
DECLARE
	v_channel integer;
	v_all inbound_event[];
	v_new inbound_event[];
	v_keys text[];
	v_conversations bigint[];
BEGIN
	SELECT id INTO v_channel FROM channels
	 WHERE kind = p_channel_kind AND name = p_channel_name;
	IF NOT FOUND THEN
		INSERT INTO channels (kind, name) VALUES (p_channel_kind, p_channel_name)
		    ON CONFLICT (kind, name) DO NOTHING;
		SELECT id INTO STRICT v_channel FROM channels
		 WHERE kind = p_channel_kind AND name = p_channel_name;
	END IF;

	v_all := ARRAY(
	    SELECT jsonb_populate_record(NULL::inbound_event,
		       e || jsonb_build_object('ord', o))
	      FROM jsonb_array_elements(p_events) WITH ORDINALITY AS a(e, o));

	-- Dedupe: only the first delivery of an event goes further.
	WITH fresh AS (
		INSERT INTO webhook_events (channel_id, event_key, kind, occurred_at,
		    received_at, redelivery, reply_token)
		SELECT v_channel, ev.event_key, ev.kind, ev.occurred_at, p_received_at,
		       coalesce(ev.redelivery, false), ev.reply_token
		  FROM unnest(v_all) ev
		 ORDER BY ev.ord
		ON CONFLICT DO NOTHING
		RETURNING event_key)
	SELECT array_agg(event_key) INTO v_keys FROM fresh;

	-- The same event twice in one batch was inserted once: keep its first.
	v_new := ARRAY(
	    SELECT x FROM (
		SELECT DISTINCT ON (ev.event_key) ev::inbound_event AS x
		  FROM unnest(v_all) ev
		 WHERE ev.event_key = ANY (v_keys)
		 ORDER BY ev.event_key, ev.ord) d
	     ORDER BY (x).ord);
	stored := cardinality(v_new);
	duplicates := cardinality(v_all) - stored;
	IF stored = 0 THEN
		RETURN;
	END IF;

	-- Contacts first seen now. Sorted, so two processes creating the same
	-- contacts take their locks in one order and never deadlock.
	INSERT INTO contacts (channel_id, external_id, first_seen_at)
	SELECT DISTINCT v_channel, ev.contact_ref, p_received_at
	  FROM unnest(v_new) ev
	 ORDER BY 2
	ON CONFLICT (channel_id, external_id) DO NOTHING;

	-- A message opens a conversation unless its contact has one open.
	INSERT INTO conversations (contact_id, channel_id, state, opened_at)
	SELECT c.id, v_channel, 'waiting', p_received_at
	  FROM contacts c
	 WHERE c.channel_id = v_channel
	   AND c.external_id IN (SELECT ev.contact_ref FROM unnest(v_new) ev
				  WHERE ev.kind = 'message')
	   AND NOT EXISTS (SELECT 1 FROM conversations cv
			    WHERE cv.contact_id = c.id AND cv.state <> 'closed')
	 ORDER BY c.id
	ON CONFLICT (contact_id) WHERE state <> 'closed' DO NOTHING;

	WITH stored_messages AS (
		INSERT INTO messages (conversation_id, contact_id, direction, kind,
		    accepted, external_id, body, body_key_id, sent_at, received_at)
		SELECT cv.id, c.id, 'in', ev.message_kind, ev.message_kind = 'text',
		       ev.message_ref, ev.body, ev.body_key_id, ev.occurred_at,
		       p_received_at
		  FROM unnest(v_new) ev
		  JOIN contacts c ON c.channel_id = v_channel
				 AND c.external_id = ev.contact_ref
		  JOIN conversations cv ON cv.contact_id = c.id AND cv.state <> 'closed'
		 WHERE ev.kind = 'message'
		 ORDER BY ev.ord
		RETURNING conversation_id)
	SELECT array_agg(DISTINCT conversation_id) INTO v_conversations
	  FROM stored_messages;

	IF v_conversations IS NOT NULL THEN
		-- The person wrote again: the desk owes a reply once more.
		UPDATE conversations SET state = 'waiting'
		 WHERE id = ANY (v_conversations) AND state = 'waiting_for_user';
		PERFORM pg_notify('madoguchi_inbound', json_build_object(
		    'channel', v_channel,
		    'conversations', v_conversations)::text);
	END IF;

	-- Follow state: the newest event per contact wins, also across batches.
	UPDATE contacts c
	   SET follow_state = CASE WHEN f.kind = 'follow' THEN 'following' ELSE 'blocked' END,
	       followed_at = CASE WHEN f.kind = 'follow' THEN f.occurred_at ELSE c.followed_at END,
	       blocked_since = CASE WHEN f.kind = 'unfollow' THEN f.occurred_at END,
	       follow_changed_at = f.occurred_at
	  FROM (SELECT DISTINCT ON (ev.contact_ref) ev.contact_ref, ev.kind, ev.occurred_at
		  FROM unnest(v_new) ev
		 WHERE ev.kind IN ('follow', 'unfollow')
		 ORDER BY ev.contact_ref, ev.occurred_at DESC, ev.ord DESC) f
	 WHERE c.channel_id = v_channel AND c.external_id = f.contact_ref
	   AND (c.follow_changed_at IS NULL OR c.follow_changed_at <= f.occurred_at);

	-- The person retracted a message: its text is no longer the desk's.
	UPDATE messages m
	   SET body = NULL, body_key_id = NULL, unsent_at = ev.occurred_at
	  FROM unnest(v_new) ev
	  JOIN contacts c ON c.channel_id = v_channel AND c.external_id = ev.contact_ref
	 WHERE ev.kind = 'unsend' AND m.contact_id = c.id
	   AND m.external_id = ev.message_ref AND m.direction = 'in';
END
$$;
