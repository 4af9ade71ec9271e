-- 001 foundation: channels, contacts, conversations, messages, and the
-- dedupe record of delivered events. The statement that stores a batch of
-- deliveries lives with its caller, storage/ingest.c.
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
CREATE INDEX conversations_contact ON conversations (contact_id, id);

CREATE TABLE messages (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	conversation_id	bigint NOT NULL REFERENCES conversations,
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
-- The only secondary index: every insert pays for each one. A contact's
-- history goes through conversations_contact.
CREATE INDEX messages_conversation ON messages (conversation_id, id);

-- Every delivered event once, by the channel's event id: redeliveries and
-- duplicates stop here.
-- No foreign key on channel_id: it would cost a trigger per event on the
-- hottest insert, and channels are never deleted.
CREATE TABLE webhook_events (
	channel_id	integer NOT NULL,
	event_key	text NOT NULL,
	kind		text NOT NULL,
	occurred_at	timestamptz NOT NULL,
	received_at	timestamptz NOT NULL,
	redelivery	boolean NOT NULL,
	reply_token	text,		-- single use, valid about a minute
	-- unsend: the message retracted. Kept as a tombstone, so a message
	-- delivered after its own unsend is stored without its text.
	message_ref	text,
	PRIMARY KEY (channel_id, event_key)
);
CREATE INDEX webhook_events_unsent ON webhook_events (channel_id, message_ref)
	WHERE kind = 'unsend';
