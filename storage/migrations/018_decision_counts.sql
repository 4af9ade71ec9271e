-- The auto-reply decision (autoreply/worker.c) counts, for each event, the
-- waiting conversations ahead of this one and each signed-in counsellor's
-- open ones. These indexes make each count a range read of the rows it
-- counts, not a read of every open conversation of the desk.
CREATE INDEX conversations_queue ON conversations (channel_id, waiting_since)
	WHERE state = 'waiting' AND assignee_id IS NULL;
CREATE INDEX conversations_assignee_open ON conversations (assignee_id)
	WHERE state <> 'closed';
