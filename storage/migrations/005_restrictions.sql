-- 005 cooldowns and blocks. A supervisor may pause a contact who misuses
-- the desk, for a while (cooldown) or until lifted (block), with a reason,
-- as the desks' participation rules allow. The person gets a neutral
-- notice first; their messages are still stored, but they get no
-- automatic replies and their conversations leave the counsellors' queue
-- (supervisors still see them). Lifting is recorded like placing.
CREATE TABLE contact_restrictions (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	contact_id	bigint NOT NULL REFERENCES contacts,
	kind		text NOT NULL CHECK (kind IN ('cooldown', 'block')),
	starts_at	timestamptz NOT NULL,
	ends_at		timestamptz,	-- a cooldown's end; a block has none
	reason		bytea NOT NULL,	-- sealed "contact_restrictions.reason"
	reason_key_id	smallint NOT NULL,
	created_by	bigint NOT NULL REFERENCES staff,
	notice_message_id bigint REFERENCES messages,
	-- lifted by a supervisor, or replaced by a newer restriction
	lifted_at	timestamptz,
	lifted_by	bigint REFERENCES staff,
	CHECK ((kind = 'cooldown') = (ends_at IS NOT NULL))
);
-- At most one not lifted per contact (an expired cooldown included).
CREATE UNIQUE INDEX contact_restrictions_live ON contact_restrictions (contact_id)
	WHERE lifted_at IS NULL;

INSERT INTO settings (key, value, updated_by) VALUES
('restriction_notice_cooldown', '"いつも{desk}をご利用いただき、ありがとうございます。利用のルールにより、{until}まで、このアカウントからのご相談への返信をお休みさせていただきます。\n命の危険を感じるときは、110番（警察）か119番（救急）に電話してください。"', 'migration'),
('restriction_notice_block', '"{desk}です。利用のルールにより、このアカウントからのご相談への返信を停止しました。\n命の危険を感じるときは、110番（警察）か119番（救急）に電話してください。"', 'migration')
ON CONFLICT DO NOTHING;
