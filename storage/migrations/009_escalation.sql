-- The escalation record: what the desk did about a life at risk, step by
-- step, as its protocol lists them (crisis_protocol). A conversation at
-- high risk cannot be closed while a required step is missing. Each step
-- is recorded once as done (who was contacted, when, the reference they
-- gave, the outcome) or not needed (and why); the details are sealed.
CREATE TABLE escalation_steps (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	conversation_id	bigint NOT NULL REFERENCES conversations,
	step		text NOT NULL,		-- a code of crisis_protocol
	status		text NOT NULL CHECK (status IN ('done', 'not_needed')),
	contacted_at	timestamptz,		-- done: when
	detail		bytea NOT NULL,		-- sealed JSON: counterpart,
	detail_key_id	smallint NOT NULL,	-- reference, outcome
	staff_id	bigint NOT NULL REFERENCES staff,
	recorded_at	timestamptz NOT NULL,
	UNIQUE (conversation_id, step)
);

INSERT INTO settings (key, value, updated_by) VALUES
('crisis_protocol', '[
  {"code": "situation", "ja": "本人の連絡先と状況を確認", "en": "Contact details and situation confirmed", "required": true},
  {"code": "police", "ja": "警察に連絡", "en": "Police contacted", "required": true},
  {"code": "prefecture", "ja": "都道府県（委託元）に連絡", "en": "Prefecture (commissioner) contacted", "required": true},
  {"code": "ward", "ja": "区市町村に連絡", "en": "Ward or municipality contacted", "required": false},
  {"code": "child_guidance", "ja": "児童相談所に連絡", "en": "Child guidance centre contacted", "required": false}
 ]', 'migration');
