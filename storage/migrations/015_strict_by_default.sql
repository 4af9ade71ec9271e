-- New desks start in strict mode (issue 7): LINE only as the doorway, the
-- consultation in the desk's own web chat, as the 2021 guidance on LINE
-- use by public bodies asks. A deployment that already holds a LINE
-- channel ran its consultations on LINE: it keeps direct until its admin
-- turns it strict (madoguchi settings set line_mode '"strict"'), since the
-- web chat needs public_url first.
UPDATE settings SET value = '"strict"', updated_at = now(),
	updated_by = 'migration'
 WHERE key = 'line_mode' AND channel_id IS NULL
   AND NOT EXISTS (SELECT 1 FROM channels WHERE kind = 'line');
INSERT INTO settings_changes (channel_id, key, old_value, new_value,
	changed_by)
	SELECT NULL, key, '"direct"', value, updated_by FROM settings
	 WHERE key = 'line_mode' AND channel_id IS NULL
	   AND value = '"strict"';
