/*
 * config.c - the settings table and its three sources.
 *
 * One table holds each key's type, place in struct config, and default, so
 * the file parser, the environment and the README's table agree.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum config_type { CONFIG_STRING, CONFIG_LONG };

struct config_key {
	const char		*key;
	const char		*env;
	enum config_type	 type;
	size_t			 offset;
	const char		*default_value;
	long			 min, max;	/* CONFIG_LONG bounds */
};

#define STR(k, e, f, d) { k, e, CONFIG_STRING, offsetof(struct config, f), d, 0, 0 }
#define NUM(k, e, f, d, lo, hi) { k, e, CONFIG_LONG, offsetof(struct config, f), d, lo, hi }

static const struct config_key config_keys[] = {
	STR("listen", "MADOGUCHI_LISTEN", listen, "127.0.0.1:8080"),
	STR("database_url", "MADOGUCHI_DATABASE_URL", database_url, ""),
	NUM("db_connections", "MADOGUCHI_DB_CONNECTIONS", db_connections, "2", 1, 64),
	STR("channel_name", "MADOGUCHI_CHANNEL_NAME", channel_name, "default"),
	STR("channel_secret_file", "MADOGUCHI_CHANNEL_SECRET_FILE", channel_secret_file, ""),
	STR("access_token_file", "MADOGUCHI_ACCESS_TOKEN_FILE", access_token_file, ""),
	STR("data_key_file", "MADOGUCHI_DATA_KEY_FILE", data_key_file, ""),
	STR("line_api_base", "MADOGUCHI_LINE_API_BASE", line_api_base, "https://api.line.me"),
	STR("log_level", "MADOGUCHI_LOG_LEVEL", log_level, "info"),
	NUM("max_body_bytes", "MADOGUCHI_MAX_BODY_BYTES", max_body_bytes, "1048576", 1024, 64L << 20),
	STR("now", "MADOGUCHI_NOW", now, ""),
	STR("now_at", "MADOGUCHI_NOW_AT", now_at, ""),
	NUM("outbox_concurrency", "MADOGUCHI_OUTBOX_CONCURRENCY", outbox_concurrency, "16", 1, 256),
	NUM("outbox_retry_min_ms", "MADOGUCHI_OUTBOX_RETRY_MIN_MS", outbox_retry_min_ms, "1000", 10, 3600000),
	NUM("outbox_retry_max_ms", "MADOGUCHI_OUTBOX_RETRY_MAX_MS", outbox_retry_max_ms, "300000", 10, 86400000),
	NUM("outbox_give_up_seconds", "MADOGUCHI_OUTBOX_GIVE_UP_SECONDS", outbox_give_up_seconds, "21600", 1, 86400),
	NUM("outbox_busy_rate", "MADOGUCHI_OUTBOX_BUSY_RATE", outbox_busy_rate, "50", 0, 10000),
	STR("console_dir", "MADOGUCHI_CONSOLE_DIR", console_dir, "operator-console/web"),
	STR("webchat_dir", "MADOGUCHI_WEBCHAT_DIR", webchat_dir, "webchat/web"),
	STR("public_url", "MADOGUCHI_PUBLIC_URL", public_url, ""),
	NUM("console_cookie_secure", "MADOGUCHI_CONSOLE_COOKIE_SECURE", console_cookie_secure, "1", 0, 1),
	STR("console_trusted_proxies", "MADOGUCHI_CONSOLE_TRUSTED_PROXIES", console_trusted_proxies, ""),
	NUM("console_password_workers", "MADOGUCHI_CONSOLE_PASSWORD_WORKERS", console_password_workers, "1", 1, 16),
	STR("crisis_lexicon", "MADOGUCHI_CRISIS_LEXICON", crisis_lexicon, "crisis/lexicon.txt"),
	STR("crisis_model", "MADOGUCHI_CRISIS_MODEL", crisis_model, ""),
	NUM("outbox_lease_seconds", "MADOGUCHI_OUTBOX_LEASE_SECONDS", outbox_lease_seconds, "300", 30, 86400),
	STR("smtp_url", "MADOGUCHI_SMTP_URL", smtp_url, ""),
	STR("smtp_from", "MADOGUCHI_SMTP_FROM", smtp_from, ""),
	STR("smtp_user", "MADOGUCHI_SMTP_USER", smtp_user, ""),
	STR("smtp_password_file", "MADOGUCHI_SMTP_PASSWORD_FILE", smtp_password_file, ""),
	NUM("smtp_starttls", "MADOGUCHI_SMTP_STARTTLS", smtp_starttls, "1", 0, 1),
};

#define CONFIG_NKEYS (sizeof(config_keys) / sizeof(config_keys[0]))

static bool
config_set(struct config *cfg, const struct config_key *k, const char *value,
    char *why, size_t whylen)
{
	char *end;
	long v;

	if (k->type == CONFIG_STRING) {
		char **slot = (char **)((char *)cfg + k->offset);
		char *copy = strdup(value);

		if (copy == NULL) {
			snprintf(why, whylen, "out of memory");
			return false;
		}
		free(*slot);
		*slot = copy;
		return true;
	}
	errno = 0;
	v = strtol(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0' || v < k->min ||
	    v > k->max) {
		snprintf(why, whylen, "%s must be a whole number from %ld to %ld",
		    k->key, k->min, k->max);
		return false;
	}
	*(long *)((char *)cfg + k->offset) = v;
	return true;
}

static const struct config_key *
config_find(const char *key)
{
	for (size_t i = 0; i < CONFIG_NKEYS; i++)
		if (strcmp(config_keys[i].key, key) == 0)
			return &config_keys[i];
	return NULL;
}

static char *
config_trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/* One "key = value" line; comments start with # at the line's start. */
static bool
config_parse_line(struct config *cfg, char *line, char *why, size_t whylen)
{
	const struct config_key *k;
	char *eq, *key, *value;

	line = config_trim(line);
	if (*line == '\0' || *line == '#')
		return true;
	if ((eq = strchr(line, '=')) == NULL) {
		snprintf(why, whylen, "expected key = value");
		return false;
	}
	*eq = '\0';
	key = config_trim(line);
	value = config_trim(eq + 1);
	if ((k = config_find(key)) == NULL) {
		snprintf(why, whylen, "unknown key \"%s\"", key);
		return false;
	}
	return config_set(cfg, k, value, why, whylen);
}

static bool
config_load_file(struct config *cfg, const char *path, bool required,
    char *err, size_t errlen)
{
	char line[4096], why[256];
	unsigned lineno = 0;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL) {
		if (!required && errno == ENOENT)
			return true;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return false;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if (!config_parse_line(cfg, line, why, sizeof(why))) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno, why);
			fclose(f);
			return false;
		}
	}
	fclose(f);
	return true;
}

bool
config_load(struct config *cfg, const char *path, bool required, char *err,
    size_t errlen)
{
	char why[256];

	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < CONFIG_NKEYS; i++) {
		if (!config_set(cfg, &config_keys[i],
		    config_keys[i].default_value, why, sizeof(why))) {
			snprintf(err, errlen, "default: %s", why);
			goto fail;
		}
	}
	if (path != NULL && !config_load_file(cfg, path, required, err, errlen))
		goto fail;
	for (size_t i = 0; i < CONFIG_NKEYS; i++) {
		const char *v = getenv(config_keys[i].env);

		if (v != NULL && !config_set(cfg, &config_keys[i], v, why,
		    sizeof(why))) {
			snprintf(err, errlen, "%s: %s", config_keys[i].env, why);
			goto fail;
		}
	}
	return true;
fail:
	config_free(cfg);
	return false;
}

void
config_free(struct config *cfg)
{
	for (size_t i = 0; i < CONFIG_NKEYS; i++) {
		if (config_keys[i].type == CONFIG_STRING) {
			char **slot = (char **)((char *)cfg + config_keys[i].offset);

			free(*slot);
			*slot = NULL;
		}
	}
}

void
config_each(const struct config *cfg, void (*fn)(const char *, const char *,
    const char *, void *), void *arg)
{
	char num[32];

	for (size_t i = 0; i < CONFIG_NKEYS; i++) {
		const struct config_key *k = &config_keys[i];
		const char *p = (const char *)cfg + k->offset;

		if (k->type == CONFIG_STRING) {
			fn(k->key, k->env, *(char *const *)p, arg);
		} else {
			snprintf(num, sizeof(num), "%ld", *(const long *)p);
			fn(k->key, k->env, num, arg);
		}
	}
}

bool
config_read_secret(const char *path, char **out, size_t *len, char *err,
    size_t errlen)
{
	char *buf = NULL;
	size_t n = 0, cap = 0;
	FILE *f;
	int c;

	if (path == NULL || path[0] == '\0') {
		snprintf(err, errlen, "no file configured");
		return false;
	}
	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return false;
	}
	while ((c = fgetc(f)) != EOF) {
		if (n + 1 >= cap) {
			size_t want = cap ? cap * 2 : 128;
			char *grown;

			if (want > 1 << 16 || (grown = malloc(want)) == NULL) {
				snprintf(err, errlen, "%s: too large for a secret", path);
				goto fail;
			}
			if (buf != NULL) {
				memcpy(grown, buf, n);
				explicit_bzero(buf, cap);
				free(buf);
			}
			buf = grown;
			cap = want;
		}
		buf[n++] = (char)c;
	}
	while (n > 0 && isspace((unsigned char)buf[n - 1]))
		n--;
	if (n == 0) {
		snprintf(err, errlen, "%s: empty", path);
		goto fail;
	}
	buf[n] = '\0';
	fclose(f);
	*out = buf;
	*len = n;
	return true;
fail:
	if (buf != NULL) {
		explicit_bzero(buf, cap);
		free(buf);
	}
	fclose(f);
	return false;
}
