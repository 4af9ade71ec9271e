-- Every change to a conversation and every settings change reaches the
-- audit trail from the row that records it, so no code path can forget:
-- claims, releases, transfers, notes, closing (by hand or by itself),
-- replies, and settings changed through the CLI or later the console.
-- (Views, sign-ins, crisis and escalation steps, case records and
-- restrictions are audited by the statements that make them, with the
-- client's address, which a trigger cannot know.)
CREATE FUNCTION audit_conversation_event() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO audit_log (at, staff_id, actor, action, object_type,
	       object_id, detail)
	VALUES (NEW.at, NEW.staff_id,
	       coalesce((SELECT login FROM staff WHERE id = NEW.staff_id), 'system'),
	       'conversation.' || NEW.kind, 'conversation', NEW.conversation_id,
	       jsonb_strip_nulls(jsonb_build_object('event', NEW.id,
	           'code', NEW.code, 'to', NEW.target_staff_id)));
	RETURN NULL;
END $$;
CREATE TRIGGER conversation_events_audit AFTER INSERT ON conversation_events
	FOR EACH ROW WHEN (NEW.kind IN ('claimed', 'released', 'transferred',
	    'note', 'closed', 'auto_closed'))
	EXECUTE FUNCTION audit_conversation_event();

CREATE FUNCTION audit_reply() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO audit_log (at, staff_id, actor, action, object_type,
	       object_id, detail)
	VALUES (NEW.received_at, NEW.staff_id,
	       coalesce((SELECT login FROM staff WHERE id = NEW.staff_id), 'system'),
	       'conversation.reply', 'conversation', NEW.conversation_id,
	       jsonb_build_object('message', NEW.id));
	RETURN NULL;
END $$;
CREATE TRIGGER messages_reply_audit AFTER INSERT ON messages
	FOR EACH ROW WHEN (NEW.direction = 'out')
	EXECUTE FUNCTION audit_reply();

CREATE FUNCTION audit_settings_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO audit_log (at, actor, action, object_type, detail)
	VALUES (NEW.changed_at, NEW.changed_by, 'settings.change', 'settings',
	       jsonb_strip_nulls(jsonb_build_object('key', NEW.key,
	           'channel', NEW.channel_id, 'change', NEW.id)));
	RETURN NULL;
END $$;
CREATE TRIGGER settings_changes_audit AFTER INSERT ON settings_changes
	FOR EACH ROW EXECUTE FUNCTION audit_settings_change();
