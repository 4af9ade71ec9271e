-- 003 the operator console: staff sign-in (password + TOTP), sessions,
-- what staff see of a contact (a case number and a nickname, never the
-- LINE id), ownership and closing of conversations, internal notes and
-- system events, case records, and the audit trail of who saw and changed
-- what.
--
-- Free text staff write (notes, nicknames, summaries, referral notes,
-- follow-up plans) is sealed by the application like message bodies, with
-- its key id beside it. Coded attributes (age band, gender...) are kept
-- plain so reports can count them, and only with the person's consent.

ALTER TABLE staff
	-- Argon2id, encoded; NULL: cannot sign in
	ADD COLUMN password_hash text,
	-- set by an admin (madoguchi user add / reset-password): the person
	-- must choose their own at the next sign-in
	ADD COLUMN password_temporary boolean NOT NULL DEFAULT true,
	ADD COLUMN password_changed_at timestamptz,
	-- the TOTP secret, sealed "staff.totp_secret"; NULL until enrolled
	ADD COLUMN totp_secret bytea,
	ADD COLUMN totp_key_id smallint,
	ADD COLUMN totp_enrolled_at timestamptz,
	-- the newest time step accepted: a code is never accepted twice
	ADD COLUMN totp_last_step bigint,
	ADD COLUMN failed_logins integer NOT NULL DEFAULT 0,
	ADD COLUMN locked_until timestamptz,
	-- conversations at once; NULL: the desk's capacity_per_counsellor
	ADD COLUMN capacity smallint CHECK (capacity BETWEEN 1 AND 20),
	ADD COLUMN language text NOT NULL DEFAULT 'ja'
			CHECK (language IN ('ja', 'en')),
	ADD CHECK ((totp_secret IS NULL) = (totp_key_id IS NULL)),
	ADD CHECK (totp_enrolled_at IS NULL OR totp_secret IS NOT NULL);

-- A signed-in browser or terminal. The cookie holds a random token; only
-- its SHA-256 is stored, so a dump of this table signs nobody in.
CREATE TABLE sessions (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	token_hash	bytea NOT NULL UNIQUE,
	staff_id	bigint NOT NULL REFERENCES staff,
	-- password: the first factor passed, the second (or its enrolment)
	-- owed; totp: both passed, a new password owed (the one set by an
	-- admin is for one use); full: signed in
	stage		text NOT NULL CHECK (stage IN ('password', 'totp', 'full')),
	created_at	timestamptz NOT NULL,
	last_seen_at	timestamptz NOT NULL,
	expires_at	timestamptz NOT NULL,	-- absolute limit, whatever the use
	ended_at	timestamptz,
	end_reason	text CHECK (end_reason IN ('signed_out', 'idle',
			'expired', 'disabled', 'password_changed', 'mfa_reset')),
	ip		inet,
	user_agent	text,
	CHECK ((ended_at IS NULL) = (end_reason IS NULL))
);
CREATE INDEX sessions_live ON sessions (staff_id) WHERE ended_at IS NULL;

-- Every attempt to sign in, for throttling by address and for the record.
CREATE TABLE login_attempts (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at		timestamptz NOT NULL,
	login		text NOT NULL,
	staff_id	bigint REFERENCES staff,
	ip		inet,
	factor		text NOT NULL CHECK (factor IN ('password', 'totp')),
	ok		boolean NOT NULL
);
CREATE INDEX login_attempts_ip ON login_attempts (ip, at) WHERE NOT ok;

ALTER TABLE contacts
	-- what the counsellor calls the person, sealed "contacts.nickname"
	ADD COLUMN nickname bytea,
	ADD COLUMN nickname_key_id smallint,
	ADD CHECK ((nickname IS NULL) = (nickname_key_id IS NULL));

ALTER TABLE conversations
	ADD COLUMN claimed_at timestamptz,
	-- a counsellor's first reply, for first-reply times in reports
	ADD COLUMN first_reply_at timestamptz,
	ADD COLUMN closed_by bigint REFERENCES staff,
	ADD COLUMN close_reason text,
	-- the deadline sweeper's marks, once per deadline
	ADD COLUMN due_soon_at timestamptz,
	ADD COLUMN overdue_at timestamptz,
	ADD CHECK (assignee_id IS NULL OR claimed_at IS NOT NULL);
-- The queue: open conversations by deadline.
CREATE INDEX conversations_open ON conversations (reply_due_at, id)
	WHERE state <> 'closed';

-- What happened to a conversation besides messages: claims, transfers,
-- internal notes, closing, crisis flags. Shown in its history; a note
-- never goes to the person.
CREATE TABLE conversation_events (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	conversation_id	bigint NOT NULL REFERENCES conversations,
	at		timestamptz NOT NULL,
	staff_id	bigint REFERENCES staff,
	kind		text NOT NULL CHECK (kind IN ('note', 'claimed', 'released',
			'transferred', 'closed', 'auto_closed', 'nickname',
			'crisis_raised', 'crisis_lowered', 'due_soon', 'overdue',
			'long_session')),
	-- transferred: to whom
	target_staff_id	bigint REFERENCES staff,
	-- closed: the reason's code; crisis: the level
	code		text,
	-- the note, or the reason given, sealed "conversation_events.body"
	body		bytea,
	body_key_id	smallint,
	CHECK ((body IS NULL) = (body_key_id IS NULL))
);
CREATE INDEX conversation_events_conversation
	ON conversation_events (conversation_id, id);

-- One per contact, built up across conversations.
CREATE TABLE case_records (
	contact_id	bigint PRIMARY KEY REFERENCES contacts,
	-- coded attributes, each only with the person's consent (the date)
	age_band	text,
	age_band_consent_on date,
	gender		text,
	gender_consent_on date,
	family		text,		-- who they care for / family situation
	family_consent_on date,
	municipality	text,
	municipality_consent_on date,
	-- codes from the desk's taxonomy (settings: case_categories)
	categories	text[] NOT NULL DEFAULT '{}',
	summary		bytea,		-- sealed "case_records.summary"
	summary_key_id	smallint,
	-- optimistic concurrency: an edit names the version it started from
	version		integer NOT NULL DEFAULT 1,
	updated_at	timestamptz NOT NULL,
	updated_by	bigint REFERENCES staff,
	CHECK (age_band IS NULL OR age_band_consent_on IS NOT NULL),
	CHECK (gender IS NULL OR gender_consent_on IS NOT NULL),
	CHECK (family IS NULL OR family_consent_on IS NOT NULL),
	CHECK (municipality IS NULL OR municipality_consent_on IS NOT NULL),
	CHECK ((summary IS NULL) = (summary_key_id IS NULL))
);

-- Other agencies the person was put in touch with.
CREATE TABLE referrals (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	contact_id	bigint NOT NULL REFERENCES contacts,
	conversation_id	bigint REFERENCES conversations,
	agency		text NOT NULL,	-- code from settings: referral_agencies
	referred_on	date NOT NULL,
	outcome		text CHECK (outcome IN ('pending', 'connected',
			'declined', 'unknown')),
	note		bytea,		-- sealed "referrals.note"
	note_key_id	smallint,
	created_at	timestamptz NOT NULL,
	created_by	bigint NOT NULL REFERENCES staff,
	CHECK ((note IS NULL) = (note_key_id IS NULL))
);
CREATE INDEX referrals_contact ON referrals (contact_id, id);

CREATE TABLE follow_ups (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	contact_id	bigint NOT NULL REFERENCES contacts,
	due_on		date,
	plan		bytea NOT NULL,	-- sealed "follow_ups.plan"
	plan_key_id	smallint NOT NULL,
	done_at		timestamptz,
	created_at	timestamptz NOT NULL,
	created_by	bigint NOT NULL REFERENCES staff
);
CREATE INDEX follow_ups_contact ON follow_ups (contact_id, id);

-- Who saw or changed what, and when. Append-only: nothing updates or
-- deletes it (the deployment's application role gets INSERT and SELECT
-- only, deploy/). No personal data in detail: ids and codes only.
CREATE TABLE audit_log (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at		timestamptz NOT NULL DEFAULT now(),
	staff_id	bigint REFERENCES staff,
	actor		text NOT NULL,	-- login, or "cli:USER", or "system"
	action		text NOT NULL,	-- e.g. case_record.view
	object_type	text,
	object_id	bigint,
	detail		jsonb,
	ip		inet
);
CREATE INDEX audit_log_object ON audit_log (object_type, object_id, id);

INSERT INTO settings (key, value, updated_by) VALUES
('session_idle_minutes', '30', 'migration'),
('session_max_hours', '12', 'migration'),
('login_lockout', '{"failures": 5, "minutes": 15, "ip_failures": 30,
  "ip_minutes": 10}', 'migration'),
-- a soft limit: the counsellor is warned, the real length is recorded
('session_soft_limit_minutes', '50', 'migration'),
-- a conversation silent this long closes itself; null: never
('idle_close_minutes', '1440', 'migration'),
('idle_close_text', 'null', 'migration'),
('reply_deadline', '{"kind": "next_business_day_end"}', 'migration'),
('due_soon_minutes', '60', 'migration'),
('close_reasons', '[
  {"code": "user_ended", "ja": "相談者が終了", "en": "The user ended"},
  {"code": "no_reply", "ja": "相談者の応答なし", "en": "No reply from the user"},
  {"code": "counsellor_ended", "ja": "相談員が終了", "en": "Counsellor ended"},
  {"code": "prank", "ja": "いたずら", "en": "Prank"},
  {"code": "emergency", "ja": "緊急対応へ移行", "en": "Moved to emergency response"},
  {"code": "referred", "ja": "他機関へ紹介", "en": "Referred elsewhere"}]',
 'migration'),
('case_categories', '[
  {"code": "care", "ja": "家族の世話", "en": "Caring for family"},
  {"code": "school", "ja": "学業・進路", "en": "School and future"},
  {"code": "health", "ja": "心身の健康", "en": "Physical and mental health"},
  {"code": "money", "ja": "経済", "en": "Money"},
  {"code": "relations", "ja": "人間関係", "en": "Relationships"},
  {"code": "work", "ja": "就労", "en": "Work"},
  {"code": "other", "ja": "その他", "en": "Other"}]', 'migration'),
('case_attributes', '{
  "age_band": [["u12", "小学生以下", "Up to 12"], ["13_15", "中学生", "13-15"],
    ["16_18", "高校生年代", "16-18"], ["19_24", "19〜24歳", "19-24"],
    ["25_39", "25〜39歳", "25-39"], ["40_64", "40〜64歳", "40-64"],
    ["65", "65歳以上", "65 and over"]],
  "gender": [["female", "女性", "Female"], ["male", "男性", "Male"],
    ["other", "その他", "Other"], ["unstated", "回答しない", "Prefer not to say"]],
  "family": [["parent", "親", "Parent"], ["sibling", "きょうだい", "Sibling"],
    ["grandparent", "祖父母", "Grandparent"], ["child", "子", "Child"],
    ["self", "本人", "Self"], ["other", "その他", "Other"]]}', 'migration'),
('referral_agencies', '[
  {"code": "municipal", "ja": "市区町村の相談窓口", "en": "Municipal office"},
  {"code": "school", "ja": "学校", "en": "School"},
  {"code": "child_guidance", "ja": "児童相談所", "en": "Child guidance centre"},
  {"code": "medical", "ja": "医療機関", "en": "Medical"},
  {"code": "care", "ja": "介護・福祉サービス", "en": "Care and welfare"},
  {"code": "police", "ja": "警察", "en": "Police"},
  {"code": "other", "ja": "その他", "en": "Other"}]', 'migration'),
('canned_phrases', '[
  {"ja": "メッセージありがとうございます。相談員の〇〇です。", "en": "Thank you for your message."},
  {"ja": "よかったら、もう少し詳しく教えてもらえますか。", "en": "Could you tell me a little more?"},
  {"ja": "話してくれてありがとうございます。", "en": "Thank you for telling me."},
  {"ja": "今日はここまでにしましょう。また、いつでも相談してくださいね。", "en": "Let us stop here for today."}]',
 'migration')
ON CONFLICT DO NOTHING;
