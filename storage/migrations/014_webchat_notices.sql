-- A counsellor's reply in the web chat is seen once a page of the
-- person's showed it (its stream carried it, or the page read its state).
-- One still unseen a minute after it was written gets LINE's "a reply is
-- waiting" notice, once: decided after the fact, so a person who closed
-- the page just before the reply is told all the same.
ALTER TABLE messages ADD COLUMN webchat_seen_at timestamptz,
	ADD COLUMN webchat_notified_at timestamptz;
CREATE INDEX messages_webchat_unseen ON messages (id)
	WHERE via = 'webchat' AND direction = 'out'
	  AND webchat_seen_at IS NULL AND webchat_notified_at IS NULL;

-- Only the known templates travel on LINE in place of free text: a path
-- written later cannot pass free text off by naming a template.
ALTER TABLE outbox ADD CONSTRAINT outbox_template_known CHECK (
	template IS NULL OR string_to_array(template, ',') <@ ARRAY['after_hours',
	'busy', 'text_only', 'greeting', 'welcome_back', 'crisis', 'handoff',
	'reply_waiting', 'closing', 'restriction_notice']);

-- How long a reply may wait unseen before LINE is asked to say so.
INSERT INTO settings (key, value, updated_by) VALUES
('reply_waiting_after_seconds', '60', 'migration');
INSERT INTO settings_changes (key, new_value, changed_by)
	SELECT key, value, updated_by FROM settings
	 WHERE key = 'reply_waiting_after_seconds';
