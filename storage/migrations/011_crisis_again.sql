-- From an independent review: a high-risk message that arrives after the
-- last alert was acknowledged alerts again (before, a conversation already
-- at high stayed silent for as long as it stayed open); and a rise found
-- by the detector is in the conversation's history and the audit trail,
-- as a rise by hand is.
CREATE OR REPLACE FUNCTION messages_crisis_raise() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	before smallint;
BEGIN
	UPDATE conversations c SET crisis_level = NEW.crisis_level,
	       crisis_raised_at = NEW.received_at
	  FROM (SELECT crisis_level FROM conversations
	         WHERE id = NEW.conversation_id) o
	 WHERE c.id = NEW.conversation_id
	   AND (c.crisis_level < NEW.crisis_level
	     -- high again, and nobody is being alerted about it now
	     OR (NEW.crisis_level = 2 AND c.crisis_level = 2
	         AND NOT EXISTS (SELECT 1 FROM crisis_events e
	                          WHERE e.conversation_id = NEW.conversation_id
	                            AND e.level = 2 AND e.acknowledged_at IS NULL
	                            AND e.next_alert_at IS NOT NULL)))
	RETURNING o.crisis_level INTO before;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	INSERT INTO crisis_events (conversation_id, message_id, source, level,
	       previous_level, rule, at, next_alert_at)
	VALUES (NEW.conversation_id, NEW.id, 'detected', NEW.crisis_level,
	       before, NEW.crisis_rule, NEW.received_at,
	       CASE WHEN NEW.crisis_level = 2 THEN NEW.received_at END);
	INSERT INTO conversation_events (conversation_id, at, kind, code)
	VALUES (NEW.conversation_id, NEW.received_at, 'crisis_raised',
	       NEW.crisis_level::text);
	INSERT INTO audit_log (at, actor, action, object_type, object_id, detail)
	VALUES (NEW.received_at, 'system', 'crisis.detected', 'conversation',
	       NEW.conversation_id, json_build_object('level', NEW.crisis_level,
	       'previous_level', before, 'message', NEW.id, 'rule', NEW.crisis_rule));
	PERFORM pg_notify('madoguchi_crisis', json_build_object(
	        'conversation', NEW.conversation_id,
	        'level', NEW.crisis_level, 'source', 'detected')::text);
	RETURN NULL;
END $$;
