-- The desk's own web chat (issue 7): LINE hands the person a single-use
-- link; opening it starts a web-chat session bound to the same contact,
-- so the conversation, its history and its case record are one whichever
-- way a message came.

-- A link sent on LINE. Only the SHA-256 of its token is kept; the token
-- itself travels once, inside the LINE message's sealed outbox payload.
CREATE TABLE handoff_links (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	token_hash	bytea NOT NULL UNIQUE,
	contact_id	bigint NOT NULL REFERENCES contacts,
	-- start: the answer to someone writing on LINE; reply_waiting: a
	-- counsellor answered while the person was away
	purpose		text NOT NULL CHECK (purpose IN ('start', 'reply_waiting')),
	created_at	timestamptz NOT NULL,
	expires_at	timestamptz NOT NULL,
	used_at		timestamptz,
	CHECK (expires_at > created_at)
);
CREATE INDEX handoff_links_fresh ON handoff_links (contact_id, expires_at)
	WHERE used_at IS NULL;

-- A browser's web-chat session, from the link that opened it. The cookie
-- holds the token; the database its SHA-256.
CREATE TABLE webchat_sessions (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	token_hash	bytea NOT NULL UNIQUE,
	contact_id	bigint NOT NULL REFERENCES contacts,
	link_id		bigint NOT NULL UNIQUE REFERENCES handoff_links,
	created_at	timestamptz NOT NULL,
	last_seen_at	timestamptz NOT NULL,	-- a call, or its stream still open
	expires_at	timestamptz NOT NULL,
	ended_at	timestamptz,
	end_reason	text CHECK (end_reason IN ('ended', 'expired')),
	-- the desk's terms, accepted with a tap before the first message
	terms_version	text,
	terms_accepted_at timestamptz,
	CHECK ((ended_at IS NULL) = (end_reason IS NULL)),
	CHECK ((terms_version IS NULL) = (terms_accepted_at IS NULL))
);
CREATE INDEX webchat_sessions_contact ON webchat_sessions (contact_id)
	WHERE ended_at IS NULL;

-- Which way a message went or came: the contact's own channel (LINE) or
-- the web chat. Replies in the web chat are delivered when stored.
ALTER TABLE messages ADD COLUMN via text NOT NULL DEFAULT 'channel'
	CHECK (via IN ('channel', 'webchat'));
ALTER TABLE autoreply_pending ADD COLUMN via text NOT NULL DEFAULT 'channel'
	CHECK (via IN ('channel', 'webchat'));

INSERT INTO settings (key, value, updated_by) VALUES
('handoff_minutes', '10', 'migration'),
('webchat_session_hours', '12', 'migration'),
('webchat_terms_version', '"2026-12"', 'migration'),
('webchat_terms', to_jsonb(
'この相談窓口をご利用になる前に、次のことをお読みください。

・相談は無料です。名前を言わずに相談できます。
・相談の内容は、外にもらしません。ただし、あなたや誰かの命や安全が危ないと相談員が判断したときは、あなたを守るために、警察や児童相談所などに連絡することがあります。
・相談の記録は、この窓口の中だけで大切に保管します。相談の件数などを、個人がわからない形で統計に使うことがあります。
・相談員がお返事できるのは相談時間内です。時間外に届いたメッセージには、次の相談時間にお返事します。
・この相談は医療（診察や治療）ではありません。
・命の危険があるときは、すぐに110番（警察）か119番（救急）に電話してください。

「同意して相談をはじめる」を押すと、これらに同意したことになります。'::text), 'migration');
INSERT INTO settings_changes (key, new_value, changed_by)
	SELECT key, value, updated_by FROM settings
	 WHERE key IN ('handoff_minutes', 'webchat_session_hours',
	               'webchat_terms_version', 'webchat_terms');

-- Strict mode's two fixed answers on LINE, each followed by the hand-off
-- button: to someone writing on LINE, and when a reply waits for someone
-- away from the web chat. Never the reply itself.
INSERT INTO settings (key, value, updated_by) VALUES
('autoreply_handoff', to_jsonb(
'メッセージをありがとうございます。
{desk}では、安心してお話しいただけるよう、相談のつづきを専用のページでうかがっています。下のボタンから開いてください。'::text), 'migration'),
('autoreply_reply_waiting', to_jsonb(
'{desk}から、お返事が届いています。下のボタンから相談のページを開いてご覧ください。'::text), 'migration');
INSERT INTO settings_changes (key, new_value, changed_by)
	SELECT key, value, updated_by FROM settings
	 WHERE key IN ('autoreply_handoff', 'autoreply_reply_waiting');
