/*
 * config.h - madoguchi's settings: built-in defaults, then the config file
 * (key = value), then environment variables (MADOGUCHI_<KEY>), each
 * overriding the one before. Secrets are never values here, only the names
 * of the files that hold them.
 */
#ifndef MADOGUCHI_CONFIG_H
#define MADOGUCHI_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define CONFIG_DEFAULT_PATH "etc/madoguchi.conf"

struct config {
	char	*listen;		/* host:port of the HTTP server */
	char	*database_url;		/* libpq URI or conninfo; "" = PG* env */
	long	 db_connections;	/* connections per process */
	char	*channel_name;		/* this desk's LINE channel */
	char	*channel_secret_file;
	char	*access_token_file;
	char	*data_key_file;
	char	*line_api_base;
	char	*log_level;
	long	 max_body_bytes;
	char	*now;			/* test clock start, "" = real time */
	char	*now_at;		/* Unix time it reads now, "" = start */
	long	 outbox_concurrency;	/* sends in flight per process */
	long	 outbox_retry_min_ms;	/* first wait after a 429/5xx/timeout */
	long	 outbox_retry_max_ms;	/* longest wait between two attempts */
	long	 outbox_give_up_seconds;	/* a send not done by then fails */
	long	 outbox_lease_seconds;	/* a claim held longer is taken over */
	long	 outbox_busy_rate;	/* sends a second while webhooks wait */
	char	*console_dir;		/* the web console's static files */
	char	*webchat_dir;		/* the web chat's static files */
	char	*public_url;		/* https://host as people reach it; "" none */
	char	*crisis_lexicon;	/* the crisis detector's lexicon file */
	char	*crisis_model;	/* its second opinion: "" beside it, "none" */
	long	 console_cookie_secure;	/* 0 only for a local demo over http */
	long	 console_password_workers;	/* threads hashing passwords */
	char	*console_trusted_proxies;	/* "127.0.0.1,::1": X-Forwarded-For */
	char	*smtp_url;		/* crisis e-mail: "" = none */
	char	*smtp_from;		/* its sender address */
	char	*smtp_user;		/* "" = no AUTH */
	char	*smtp_password_file;
	long	 smtp_starttls;		/* smtp://: 1 = STARTTLS or no send */
};

/*
 * Loads defaults, then the file at path (missing is an error only when
 * required), then the environment. On failure err holds "file:line: why"
 * and cfg holds nothing to free.
 */
bool	config_load(struct config *cfg, const char *path, bool required,
	    char *err, size_t errlen) __attribute__((warn_unused_result));
void	config_free(struct config *cfg);

/* Calls fn for each key with its environment name and current value. */
void	config_each(const struct config *cfg,
	    void (*fn)(const char *key, const char *env, const char *value,
	    void *arg), void *arg);

/*
 * Reads a secret file whole, trimming trailing white space. The caller
 * wipes and frees *out. Refuses an empty file.
 */
bool	config_read_secret(const char *path, char **out, size_t *len,
	    char *err, size_t errlen) __attribute__((warn_unused_result));

#endif
