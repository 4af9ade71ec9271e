-- 004 the console's soft limit on a session's length: marked once, when a
-- conversation held by a counsellor has gone on longer than the desk's
-- session_soft_limit_minutes (the real length is opened_at to closed_at).
ALTER TABLE conversations ADD COLUMN long_session_at timestamptz;
