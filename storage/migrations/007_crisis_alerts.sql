-- Crisis alerts outside the console: each round of an unacknowledged
-- high-risk rise is sent to the desk's configured targets (and from the
-- second round on, to the on-call list), through a queue that any process
-- may work (FOR UPDATE SKIP LOCKED), so an alert goes out at night when
-- nobody is signed in, and survives a process dying mid-send.
CREATE TABLE crisis_notifications (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	crisis_event_id	bigint NOT NULL REFERENCES crisis_events,
	round		integer NOT NULL,
	target		jsonb NOT NULL,		-- {"kind": "webhook", "url": ...}
	created_at	timestamptz NOT NULL,
	next_attempt_at	timestamptz,		-- NULL once sent or given up
	attempts	integer NOT NULL DEFAULT 0,
	sent_at		timestamptz,
	gave_up_at	timestamptz,
	last_status	integer,		-- the target's HTTP status
	last_error	text			-- curl's message; never content
);
CREATE INDEX crisis_notifications_due ON crisis_notifications (next_attempt_at)
	WHERE next_attempt_at IS NOT NULL;
CREATE INDEX crisis_notifications_event ON crisis_notifications (crisis_event_id);

-- repeat_minutes: how long an alert waits for an acknowledgement before
-- it is sent again; notify: who hears of every rise at once; on_call: who
-- is added from the second round on. Targets are {"kind": "webhook",
-- "url": "https://..."}; the body names the conversation, never its words.
INSERT INTO settings (key, value, updated_by) VALUES
('crisis_alert', '{"repeat_minutes": 5, "notify": [], "on_call": []}', 'migration');
