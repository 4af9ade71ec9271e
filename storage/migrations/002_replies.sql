-- 002 replies: staff presence, the desk's settings and calendar, the
-- auto-reply decision queue, and the outbox every outbound message goes
-- through.

-- Staff accounts. Sign-in (password, TOTP, sessions) comes with the web
-- console; the busy auto-reply already needs to know who is on duty.
CREATE TABLE staff (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	login		text NOT NULL UNIQUE,
	display_name	text NOT NULL,
	role		text NOT NULL CHECK (role IN ('counsellor', 'supervisor', 'admin')),
	-- online: taking conversations; away: signed in, not taking any
	presence	text NOT NULL DEFAULT 'offline'
			CHECK (presence IN ('offline', 'online', 'away')),
	presence_changed_at timestamptz,
	created_at	timestamptz NOT NULL DEFAULT now(),
	disabled_at	timestamptz
);

ALTER TABLE contacts
	-- the after-hours reply of the current closed period went out then
	ADD COLUMN after_hours_replied_at timestamptz,
	-- the last reply found undeliverable (blocked, or unknown to LINE)
	ADD COLUMN undeliverable_at timestamptz,
	-- LINE's profile lookup confirmed the person can be written to
	ADD COLUMN profile_checked_at timestamptz;

ALTER TABLE conversations
	ADD COLUMN assignee_id bigint REFERENCES staff,
	-- the current wait for a reply began then (state waiting)
	ADD COLUMN waiting_since timestamptz,
	-- once per wait: compared with waiting_since
	ADD COLUMN busy_replied_at timestamptz,
	ADD COLUMN text_only_replied_at timestamptz;
UPDATE conversations SET waiting_since = opened_at WHERE state = 'waiting';

ALTER TABLE messages
	-- a greeting to a new friend belongs to the contact, not to a
	-- conversation: only such messages name their contact here
	ADD COLUMN contact_id bigint REFERENCES contacts,
	ALTER COLUMN conversation_id DROP NOT NULL,
	ADD CHECK (conversation_id IS NOT NULL OR
		(contact_id IS NOT NULL AND direction IN ('auto', 'system'))),
	-- direction auto: which auto-replies this message carries
	ADD COLUMN autoreply text[],
	-- outbound only: what became of it
	ADD COLUMN delivery text CHECK (delivery IN
		('pending', 'sent', 'failed', 'undeliverable')),
	ADD COLUMN staff_id bigint REFERENCES staff;

-- Settings of every desk (channel_id NULL) or of one desk, as JSON values.
-- Defaults come from this migration; every change is kept in
-- settings_changes with who made it and when.
CREATE TABLE settings (
	channel_id	integer REFERENCES channels,
	key		text NOT NULL,
	value		jsonb NOT NULL,
	updated_at	timestamptz NOT NULL DEFAULT now(),
	updated_by	text NOT NULL
);
CREATE UNIQUE INDEX settings_key ON settings (coalesce(channel_id, 0), key);

CREATE TABLE settings_changes (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	channel_id	integer,
	key		text NOT NULL,
	old_value	jsonb,
	new_value	jsonb,
	changed_at	timestamptz NOT NULL DEFAULT now(),
	changed_by	text NOT NULL
);

-- Dated exceptions to the weekly hours: closures, extra open days, and
-- national holidays added or cancelled should the law change.
CREATE TABLE calendar_exceptions (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	channel_id	integer REFERENCES channels,
	day		date NOT NULL,
	kind		text NOT NULL CHECK (kind IN
			('closed', 'open', 'holiday_add', 'holiday_cancel')),
	opens		time,
	closes		time,
	name		text,
	created_at	timestamptz NOT NULL DEFAULT now(),
	created_by	text NOT NULL,
	CHECK ((kind = 'open') OR (opens IS NULL AND closes IS NULL)),
	CHECK ((opens IS NULL) = (closes IS NULL)),
	CHECK (opens IS NULL OR opens < closes),	-- closes may be 24:00
	CHECK ((kind = 'holiday_add') = (name IS NOT NULL))
);
CREATE UNIQUE INDEX calendar_exceptions_day
	ON calendar_exceptions (coalesce(channel_id, 0), day, kind);

-- Inbound events that may call for an auto-reply, written by the same
-- transaction that stores them and taken off by the one that decides.
CREATE TABLE autoreply_pending (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	channel_id	integer NOT NULL,
	event_key	text NOT NULL,
	kind		text NOT NULL CHECK (kind IN ('message', 'follow')),
	contact_id	bigint NOT NULL,
	conversation_id	bigint,
	message_kind	text,
	unblocked	boolean NOT NULL DEFAULT false,
	received_at	timestamptz NOT NULL
);

-- One row per request to the channel (at most 5 message objects): an
-- outbound message too long for one request has several parts, sent in
-- order. Rows of one contact go out one at a time, oldest first.
CREATE TABLE outbox (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	message_id	bigint NOT NULL REFERENCES messages,
	part		smallint NOT NULL DEFAULT 1,
	contact_id	bigint NOT NULL REFERENCES contacts,
	channel_id	integer NOT NULL REFERENCES channels,
	-- sealed "outbox.payload": the JSON array of message objects; erased
	-- once the row is done, so the text is kept only on the message
	payload		bytea,
	payload_key_id	smallint,
	-- the inbound event's reply token, usable once and only briefly
	reply_token	text,
	reply_token_at	timestamptz,
	-- a reply attempt got no clear answer: LINE may have taken it
	reply_unclear	boolean NOT NULL DEFAULT false,
	-- one key for every attempt of a push, so LINE sends it only once
	retry_key	uuid NOT NULL DEFAULT gen_random_uuid(),
	state		text NOT NULL DEFAULT 'pending' CHECK (state IN
			('pending', 'sent', 'failed', 'undeliverable')),
	via		text CHECK (via IN ('reply', 'push')),
	attempts	integer NOT NULL DEFAULT 0,
	created_at	timestamptz NOT NULL,
	next_attempt_at	timestamptz NOT NULL,
	give_up_at	timestamptz NOT NULL,
	-- the sending session (backend pid, and the database's time of the
	-- claim): a row whose session is gone may be taken over
	claimed_pid	integer,
	claimed_at	timestamptz,
	lease_until	timestamptz,
	done_at		timestamptz,
	last_status	smallint,
	last_error	text,
	request_id	text,		-- LINE's x-line-request-id of the accepted call
	CHECK ((payload IS NULL) = (payload_key_id IS NULL)),
	CHECK ((state = 'pending') = (done_at IS NULL))
);
CREATE INDEX outbox_due ON outbox (next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX outbox_contact_pending ON outbox (contact_id, id)
	WHERE state = 'pending';
CREATE INDEX outbox_message ON outbox (message_id);
CREATE INDEX messages_contact ON messages (contact_id, id)
	WHERE contact_id IS NOT NULL;

INSERT INTO settings (key, value, updated_by) VALUES
('desk_name', '"LINE相談"', 'migration'),
('desk_audience', '"悩みを抱えている方やそのご家族"', 'migration'),
('hours', '{"mon": ["11:00", "20:00"], "tue": ["11:00", "20:00"],
  "wed": ["11:00", "20:00"], "thu": ["11:00", "20:00"],
  "fri": ["11:00", "20:00"], "sat": null, "sun": null}', 'migration'),
('closed_on_holidays', 'true', 'migration'),
('closures', '[["12-29", "01-03"]]', 'migration'),
('capacity_per_counsellor', '2', 'migration'),
('min_staff_on_duty', '2', 'migration'),
('min_supervisors_on_duty', '0', 'migration'),
('hotlines', '[
  {"name": "よりそいホットライン", "phone": "0120-279-338", "hours": "24時間"},
  {"name": "24時間子供SOSダイヤル", "phone": "0120-0-78310", "hours": "24時間"},
  {"name": "いのちの電話", "phone": "0570-783-556", "hours": "10時〜22時"}
 ]', 'migration'),
('autoreply_after_hours', to_jsonb(
'メッセージを受け取りました。ありがとうございます。
ただいま相談時間外です。相談時間は{hours}です。
{next_open}から、相談員が順番にお返事します。

今すぐ誰かと話したいときは、こちらも利用できます。
{hotlines}
命の危険があるときは、110番（警察）か119番（救急）に電話してください。'::text), 'migration'),
('autoreply_busy', to_jsonb(
'メッセージを受け取りました。ありがとうございます。
ただいま相談が混み合っていて、すぐにはお返事できません。{queue}
順番にお返事しますので、このまま少し待っていてください。

今すぐ誰かと話したいときは、こちらも利用できます。
{hotlines}
命の危険があるときは、110番（警察）か119番（救急）に電話してください。'::text), 'migration'),
('autoreply_text_only', to_jsonb(
'申し訳ありません。画像やスタンプ、ファイルなどは受け取ることができません。
お手数ですが、文字で送ってください。'::text), 'migration'),
('autoreply_greeting', to_jsonb(
'友だち追加ありがとうございます。{desk}です。
{audience}のための相談窓口です。相談は無料です。
相談の内容は、命を守るために必要なときを除いて、外にもらしません。
相談時間は{hours}です。時間外に届いたメッセージにも、次の相談時間にお返事します。
名前や住所、電話番号などの個人情報は、LINEでは送らないでください。
話したいことを、文字で送ってください。'::text), 'migration'),
('autoreply_welcome_back', to_jsonb(
'おかえりなさい。{desk}です。
話したいことがあれば、いつでも文字で送ってください。
相談時間は{hours}です。'::text), 'migration');

INSERT INTO settings_changes (key, new_value, changed_by)
	SELECT key, value, updated_by FROM settings;
