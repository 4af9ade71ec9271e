-- deploy/postgresql/roles.sql: the desk's two database roles and what each
-- may do. Run as a superuser, in the desk's database, before the first
-- `madoguchi migrate` and again after every later one (it is idempotent):
--
--   sudo -u postgres psql -d madoguchi -X -v ON_ERROR_STOP=1 -f roles.sql
--
-- madoguchi_owner owns the schema and runs `madoguchi migrate`: it alone
-- may change the schema. madoguchi_app is what madoguchid and the everyday
-- CLI use: read and write rows, nothing else; on audit_log only INSERT and
-- SELECT (the table's triggers refuse changes from anyone as well).
-- madoguchi_monitor is postgres_exporter's (deploy/prometheus/queries.yaml):
-- statistics, and only the state and time columns its queries count.
--
-- Passwords are not set here (no secret in a file): afterwards, in psql,
--   \password madoguchi_owner
--   \password madoguchi_app
-- which sends only the SCRAM verifier (password_encryption = scram-sha-256).

\set ON_ERROR_STOP on

DO $$
BEGIN
	IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'madoguchi_owner') THEN
		CREATE ROLE madoguchi_owner LOGIN;
	END IF;
	IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'madoguchi_app') THEN
		CREATE ROLE madoguchi_app LOGIN;
	END IF;
	IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'madoguchi_monitor') THEN
		CREATE ROLE madoguchi_monitor LOGIN;
	END IF;
END $$;
ALTER ROLE madoguchi_owner NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
ALTER ROLE madoguchi_app NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
ALTER ROLE madoguchi_monitor NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
-- postgres_exporter's own statistics (pg_stat_*, replication, archiver).
GRANT pg_monitor TO madoguchi_monitor;

-- The database: only these two (and superusers) may connect.
DO $$
BEGIN
	EXECUTE format('ALTER DATABASE %I OWNER TO madoguchi_owner', current_database());
	EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
	EXECUTE format('GRANT CONNECT ON DATABASE %I TO madoguchi_owner, madoguchi_app, '
	    'madoguchi_monitor', current_database());
END $$;

-- The schema: the owner creates in it, the application only uses it.
ALTER SCHEMA public OWNER TO madoguchi_owner;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO madoguchi_app, madoguchi_monitor;

-- A desk that migrated as another role (a superuser, say) before these
-- roles existed: its tables, sequences and functions pass to the owner.
DO $$
DECLARE
	o record;
BEGIN
	FOR o IN
		SELECT c.relname, c.relkind FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
		  AND pg_get_userbyid(c.relowner) <> 'madoguchi_owner'
		  -- identity and serial sequences follow their table
		  AND NOT (c.relkind = 'S' AND EXISTS (SELECT FROM pg_depend d
		      WHERE d.objid = c.oid AND d.deptype IN ('a', 'i')))
	LOOP
		EXECUTE format('ALTER %s %I OWNER TO madoguchi_owner',
		    CASE o.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
		        WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END, o.relname);
	END LOOP;
	FOR o IN
		SELECT p.oid::regprocedure AS fn FROM pg_proc p
		JOIN pg_namespace n ON n.oid = p.pronamespace
		WHERE n.nspname = 'public'
		  AND pg_get_userbyid(p.proowner) <> 'madoguchi_owner'
	LOOP
		EXECUTE format('ALTER ROUTINE %s OWNER TO madoguchi_owner', o.fn);
	END LOOP;
END $$;

-- Rows of every table, now and in every later migration (the default
-- privileges of what madoguchi_owner creates). Sequences: the audit
-- trail's trigger takes its ids with nextval().
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO madoguchi_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO madoguchi_app;
ALTER DEFAULT PRIVILEGES FOR ROLE madoguchi_owner IN SCHEMA public
	GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO madoguchi_app;
ALTER DEFAULT PRIVILEGES FOR ROLE madoguchi_owner IN SCHEMA public
	GRANT USAGE, SELECT ON SEQUENCES TO madoguchi_app;

-- Exceptions, once the tables exist (after the first migrate):
-- the audit trail is append-only for the application, and the schema's
-- version is the owner's to write.
DO $$
BEGIN
	IF to_regclass('public.audit_log') IS NOT NULL THEN
		REVOKE ALL ON audit_log FROM PUBLIC, madoguchi_app;
		GRANT SELECT, INSERT ON audit_log TO madoguchi_app;
	END IF;
	IF to_regclass('public.schema_migrations') IS NOT NULL THEN
		REVOKE ALL ON schema_migrations FROM PUBLIC, madoguchi_app;
		GRANT SELECT ON schema_migrations TO madoguchi_app, madoguchi_monitor;
	END IF;
	-- The monitor counts rows by state and time; it reads no content, no id
	-- of a person, no payload.
	IF to_regclass('public.crisis_notifications') IS NOT NULL THEN
		GRANT SELECT (state, created_at, next_attempt_at, done_at)
			ON outbox TO madoguchi_monitor;
		GRANT SELECT (state, reply_due_at) ON conversations TO madoguchi_monitor;
		GRANT SELECT (at, level, acknowledged_at, next_alert_at)
			ON crisis_events TO madoguchi_monitor;
		GRANT SELECT (gave_up_at) ON crisis_notifications TO madoguchi_monitor;
	END IF;
END $$;
