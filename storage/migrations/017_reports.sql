-- Reports (issue 9). The daily work log (業務日誌) is built from the
-- records; the only thing a person adds is the supervisor's note for the
-- day, kept here, sealed ("work_log_notes.note"): it may name people.
CREATE TABLE work_log_notes (
	channel_id	integer NOT NULL REFERENCES channels,
	day		date NOT NULL,		-- Asia/Tokyo
	note		bytea NOT NULL,
	note_key_id	smallint NOT NULL,
	-- optimistic concurrency, as case records: an edit names the
	-- version it started from
	version		integer NOT NULL DEFAULT 1,
	updated_at	timestamptz NOT NULL,
	updated_by	bigint NOT NULL REFERENCES staff,
	PRIMARY KEY (channel_id, day)
);

-- No index on messages.received_at for the reports: every webhook would pay
-- for it (issue 3), and a month's report reads the table once.
