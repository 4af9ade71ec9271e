-- New desks start in strict mode (issue 7): LINE only as the doorway, the
-- consultation in the desk's own web chat, as the 2021 guidance on LINE
-- use by public bodies asks. A desk that already had a LINE channel keeps
-- the direct mode it ran in, by a setting of its own.
INSERT INTO settings (channel_id, key, value, updated_by)
	SELECT c.id, 'line_mode', '"direct"', 'migration' FROM channels c
	 WHERE c.kind = 'line' AND NOT EXISTS (SELECT 1 FROM settings s
	         WHERE s.channel_id = c.id AND s.key = 'line_mode');
UPDATE settings SET value = '"strict"', updated_at = now(),
	updated_by = 'migration'
 WHERE key = 'line_mode' AND channel_id IS NULL;
INSERT INTO settings_changes (channel_id, key, new_value, changed_by)
	SELECT channel_id, key, value, updated_by FROM settings
	 WHERE key = 'line_mode' AND updated_by = 'migration';
