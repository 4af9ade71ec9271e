/*
 * Settings: defaults, the file, the environment over the file, and errors
 * that name the file and line.
 */
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "tap.h"

static void
test_defaults(void)
{
	struct config cfg;
	char err[256];

	ok(config_load(&cfg, "/nonexistent/madoguchi.conf", false, err, sizeof(err)),
	    "a missing optional file is fine");
	is_str(cfg.listen, "127.0.0.1:8080", "default listen");
	is_int(cfg.db_connections, 2, "default db_connections");
	is_int(cfg.max_body_bytes, 1048576, "default body cap 1 MiB");
	is_str(cfg.line_api_base, "https://api.line.me", "default LINE API");
	is_str(cfg.now, "", "real clock by default");
	config_free(&cfg);
	ok(!config_load(&cfg, "/nonexistent/madoguchi.conf", true, err, sizeof(err)),
	    "a missing required file is an error");
	config_free(&cfg);
}

static void
test_file_and_env(void)
{
	char *path = tap_temp_file("# comment\n\nlisten = 0.0.0.0:9000\n"
	    "  db_connections=4  \nline_api_base = http://127.0.0.1:8091\n");
	struct config cfg;
	char err[256];

	setenv("MADOGUCHI_DB_CONNECTIONS", "8", 1);
	ok(config_load(&cfg, path, true, err, sizeof(err)), "file loads");
	is_str(cfg.listen, "0.0.0.0:9000", "file sets listen");
	is_str(cfg.line_api_base, "http://127.0.0.1:8091", "file sets LINE API");
	is_int(cfg.db_connections, 8, "environment overrides the file");
	config_free(&cfg);
	unsetenv("MADOGUCHI_DB_CONNECTIONS");
	unlink(path);
}

static void
test_errors(void)
{
	static const struct { const char *text, *want; } bad[] = {
		{ "listen = x\nnope = 1\n", ":2: unknown key \"nope\"" },
		{ "just words\n", ":1: expected key = value" },
		{ "db_connections = many\n", ":1: db_connections must be" },
		{ "db_connections = 0\n", ":1: db_connections must be" },
		{ "max_body_bytes = 12\n", ":1: max_body_bytes must be" },
	};
	struct config cfg;
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *path = tap_temp_file(bad[i].text);

		ok(!config_load(&cfg, path, true, err, sizeof(err)) &&
		    strstr(err, bad[i].want) != NULL, "bad file %zu: %s", i, err);
		config_free(&cfg);
		unlink(path);
	}
	setenv("MADOGUCHI_MAX_BODY_BYTES", "lots", 1);
	ok(!config_load(&cfg, NULL, false, err, sizeof(err)) &&
	    strstr(err, "MADOGUCHI_MAX_BODY_BYTES") != NULL,
	    "a bad environment value names the variable");
	config_free(&cfg);
	unsetenv("MADOGUCHI_MAX_BODY_BYTES");
}

static void
test_secret(void)
{
	char *path = tap_temp_file("s3cr3t-value\n\n");
	char err[256], *secret = NULL;
	size_t len = 0;

	ok(config_read_secret(path, &secret, &len, err, sizeof(err)) &&
	    len == 12 && strcmp(secret, "s3cr3t-value") == 0,
	    "secret read, trailing newlines trimmed");
	free(secret);
	unlink(path);
	path = tap_temp_file("\n");
	ok(!config_read_secret(path, &secret, &len, err, sizeof(err)),
	    "an empty secret file is refused");
	unlink(path);
	ok(!config_read_secret("", &secret, &len, err, sizeof(err)),
	    "no secret file configured is refused");
	{
		static char big[200000];

		memset(big, 'x', sizeof(big) - 1);
		path = tap_temp_file(big);
		ok(!config_read_secret(path, &secret, &len, err, sizeof(err)) &&
		    strstr(err, "too large") != NULL,
		    "a huge file is refused as a secret: %s", err);
		unlink(path);
	}
}

int
main(void)
{
	test_defaults();
	test_file_and_env();
	test_errors();
	test_secret();
	return done_testing();
}
