/*
 * madoguchid - the desk's service: LINE webhook receiver (and, as the
 * issues land, the outbox sender and the operator console), one libevent
 * loop per process, PostgreSQL behind it.
 *
 * Several madoguchid may share one database; nothing lives only here.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <openssl/crypto.h>

#include "autoreply.h"
#include "clock.h"
#include "config.h"
#include "console.h"
#include "crisis.h"
#include "health.h"
#include "http_client.h"
#include "http_reply.h"
#include "log.h"
#include "mail.h"
#include "metrics.h"
#include "offload.h"
#include "outbox.h"
#include "seal.h"
#include "storage.h"
#include "webchat.h"
#include "webhook.h"

#define MADOGUCHI_VERSION	"0.1.0"
#define DRAIN_TIMEOUT_US	(10 * 1000000)
#define DRAIN_FLUSH_TICKS	10	/* of 10 ms */
#define LINE_REQUEST_TIMEOUT_MS	15000

struct daemon {
	struct config		 cfg;
	struct event_base	*base;
	struct evhttp		*http;
	struct evhttp_bound_socket *bound;
	struct db_pool		*pool;		/* ordinary queries */
	struct db_pool		*ingest_pool;
	struct db_pool		*listen_pool;	/* LISTEN, nothing else */
	struct db_pool		*outbox_pool;	/* the sender's */
	struct keyring		*keys;
	char			*access_token;	/* NULL: this process sends nothing */
	size_t			 access_token_len;
	struct http_client	*line;
	struct outbox_sender	*sender;
	struct autoreply	*autoreply;
	struct ingest		*ingest;
	struct webhook		*webhook;
	struct health		*health;
	struct offload		*offload;	/* password hashing */
	struct console		*console;
	struct webchat		*webchat;
	struct crisis_live	*crisis;	/* checks inbound text */
	struct http_client	*alert_http;	/* crisis alerts' targets */
	struct crisis_alerts	*alerts;
	struct event		*sigterm, *sigint, *drain;
	int64_t			 drain_deadline_us;
	int			 flush_ticks;
};

static void __attribute__((noreturn))
fatal(const char *what, const char *why)
{
	fprintf(stderr, "madoguchid: %s: %s\n", what, why);
	exit(1);
}

/* Paths without a handler of their own: the console's, or none. */
static void
other_path_cb(struct evhttp_request *req, void *arg)
{
	struct daemon *d = arg;

	if (!webchat_route(d->webchat, req) && !console_route(d->console, req))
		http_reply_error(req, "other", 404, "no such path");
}

/* "host:port" or "[v6]:port" into a listener with a deep accept queue. */
static struct evconnlistener *
listen_on(struct event_base *base, const char *addr)
{
	struct sockaddr_storage ss;
	int sslen = sizeof(ss);

	if (evutil_parse_sockaddr_port(addr, (struct sockaddr *)&ss, &sslen) != 0)
		fatal("listen", "expected host:port");
	/* Bursts of LINE deliveries must not overflow a short backlog. */
	return evconnlistener_new_bind(base, NULL, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    4096, (struct sockaddr *)&ss, sslen);
}

/* Many concurrent deliveries each hold a socket: use all we may. */
static void
raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/*
 * Every 10 ms while stopping: once nothing waits for the database, a few
 * more turns of the loop let the last answers leave their sockets.
 */
static void
drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	(void)fd;
	(void)what;
	if ((ingest_pending(d->ingest) > 0 ||
	    outbox_sender_in_flight(d->sender) > 0 ||
	    autoreply_busy(d->autoreply)) &&
	    clock_now_us() <= d->drain_deadline_us)
		return;
	if (d->flush_ticks++ < DRAIN_FLUSH_TICKS &&
	    clock_now_us() <= d->drain_deadline_us)
		return;
	log_info("daemon.stopped", "unanswered=%zu", ingest_pending(d->ingest));
	event_base_loopbreak(d->base);
}

/* Stop taking work, let what was taken commit, then leave the loop. */
static void
stop_cb(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	struct timeval tick = { 0, 10000 };

	(void)what;
	if (d->drain_deadline_us != 0)
		return;
	log_info("daemon.stopping", "signal=%d pending=%zu", (int)sig,
	    ingest_pending(d->ingest));
	evhttp_del_accept_socket(d->http, d->bound);
	d->bound = NULL;
	ingest_close(d->ingest);
	outbox_sender_close(d->sender);
	autoreply_close(d->autoreply);
	console_close(d->console);
	webchat_close(d->webchat);
	health_set_stopping(d->health);
	d->drain_deadline_us = clock_now_us() + DRAIN_TIMEOUT_US;
	d->drain = event_new(d->base, -1, EV_PERSIST, drain_cb, d);
	if (d->drain == NULL || event_add(d->drain, &tick) != 0)
		event_base_loopbreak(d->base);
}

/* Secrets readable by others are still used, but not silently. */
static void
warn_if_exposed(const char *key, const char *path)
{
	struct stat st;

	if (stat(path, &st) == 0 && (st.st_mode & 077) != 0)
		log_warn("config.secret_exposed", "key=%s mode=%03o hint=\"chmod "
		    "600 the file\"", key, (unsigned)(st.st_mode & 0777));
}

static void
load_secrets(struct daemon *d, char **secret, size_t *secret_len)
{
	char err[512];

	warn_if_exposed("channel_secret_file", d->cfg.channel_secret_file);
	warn_if_exposed("data_key_file", d->cfg.data_key_file);
	if (!config_read_secret(d->cfg.channel_secret_file, secret, secret_len,
	    err, sizeof(err)))
		fatal("channel_secret_file", err);
	if ((d->keys = keyring_load(d->cfg.data_key_file, err, sizeof(err))) == NULL)
		fatal("data_key_file", err);
	if (d->cfg.access_token_file[0] == '\0')
		return;
	warn_if_exposed("access_token_file", d->cfg.access_token_file);
	if (!config_read_secret(d->cfg.access_token_file, &d->access_token,
	    &d->access_token_len, err, sizeof(err)))
		fatal("access_token_file", err);
}

/* The desk's settings, its crisis terms and alert targets, read again. */
static void
desk_settings_reload(struct daemon *d)
{
	autoreply_reload(d->autoreply);
	crisis_live_reload(d->crisis);
	crisis_alerts_reload(d->alerts);
}

/* Another process wrote to the outbox or changed the settings. */
static void
notified_cb(void *arg, const char *channel, const char *payload)
{
	struct daemon *d = arg;

	if (channel == NULL || strcmp(channel, "madoguchi_outbox") == 0)
		outbox_sender_wake(d->sender);
	if (channel == NULL || strcmp(channel, "madoguchi_settings") == 0)
		desk_settings_reload(d);
	if (channel == NULL || strcmp(channel, "madoguchi_crisis") == 0)
		crisis_alerts_wake(d->alerts);
	if (channel == NULL)	/* a reconnect: decisions may be waiting */
		autoreply_wake(d->autoreply);
	console_notify(d->console, channel, payload);
	webchat_notify(d->webchat, channel, payload);
}

/*
 * The main pool has a session again. The listen pool may have connected
 * first, and what its reconnect asked of this pool (the desk's settings,
 * its crisis terms and alert targets) then failed for want of a
 * connection, to be read only at each owner's next timer: a crisis in
 * those seconds would be checked without the desk's terms, its alert
 * held back for want of targets. The consoles' resync is the listen
 * pool's alone.
 */
static void
main_pool_connected(void *arg)
{
	struct daemon *d = arg;

	desk_settings_reload(d);
	crisis_alerts_wake(d->alerts);
	autoreply_wake(d->autoreply);
}

/* Deliveries waiting for their commit: people are writing right now. */
static bool
inbound_busy(void *arg)
{
	struct daemon *d = arg;

	return ingest_pending(d->ingest) > 0;
}

/* The outbox sender and the auto-replies; without a token, no sender. */
static void
replies_start(struct daemon *d)
{
	static const char *const channels[] = { "madoguchi_outbox",
	    "madoguchi_settings", "madoguchi_inbound", "madoguchi_console",
	    "madoguchi_crisis", "madoguchi_crisis_alert", "madoguchi_webchat",
	    NULL };
	struct http_client_options opt = { .user_agent = "madoguchi/"
	    MADOGUCHI_VERSION };
	struct outbox_sender_config sc = {
		.channel_kind = "line",
		.channel_name = d->cfg.channel_name,
		.api_base = d->cfg.line_api_base,
		.access_token = d->access_token,
		.concurrency = (int)d->cfg.outbox_concurrency,
		.retry_min_ms = d->cfg.outbox_retry_min_ms,
		.retry_max_ms = d->cfg.outbox_retry_max_ms,
		.lease_s = d->cfg.outbox_lease_seconds,
		.request_timeout_ms = LINE_REQUEST_TIMEOUT_MS,
		.inbound_busy = inbound_busy,
		.inbound_arg = d,
		.busy_rate = (int)d->cfg.outbox_busy_rate,
	};
	struct autoreply_config ac = { .channel_kind = "line",
	    .channel_name = d->cfg.channel_name,
	    .public_url = d->cfg.public_url,
	    .give_up_s = d->cfg.outbox_give_up_seconds };

	if (d->access_token == NULL)
		log_warn("outbox.disabled", "reason=\"no access_token_file\" "
		    "effect=\"replies wait in the outbox for a process that has one\"");
	else if ((d->line = http_client_new(d->base, &opt)) == NULL ||
	    (d->outbox_pool = db_pool_new(d->base, "outbox",
	    d->cfg.database_url, OUTBOX_DB_CONNECTIONS,
	    OUTBOX_DB_OPTIONS)) == NULL ||
	    (d->sender = outbox_sender_new(d->base, d->outbox_pool, d->keys,
	    d->line, &sc)) == NULL)
		fatal("outbox", "cannot start the sender");
	if ((d->autoreply = autoreply_new(d->base, d->pool, d->keys, d->sender,
	    &ac)) == NULL ||
	    (d->listen_pool = db_pool_new(d->base, "listen",
	    d->cfg.database_url, 1, DB_OPTIONS_DEFAULT)) == NULL ||
	    !db_pool_listen(d->listen_pool, channels, notified_cb, d))
		fatal("autoreply", "cannot start");
	ingest_set_autoreply(d->ingest, autoreply_calendar, autoreply_wake,
	    d->autoreply);
}

static void
console_start(struct daemon *d)
{
	struct console_options opt = {
		.static_dir = d->cfg.console_dir,
		.cookie_secure = d->cfg.console_cookie_secure != 0,
		.channel_kind = "line",
		.channel_name = d->cfg.channel_name,
		.give_up_s = d->cfg.outbox_give_up_seconds,
		.trusted_proxies = d->cfg.console_trusted_proxies,
		.public_url = d->cfg.public_url,
	};

	if (!d->cfg.console_cookie_secure)
		log_warn("console.cookie_not_secure", "hint=\"only for a local "
		    "demo over plain http\"");
	if ((d->offload = offload_new(d->base,
	    (int)d->cfg.console_password_workers, 64)) == NULL ||
	    (d->console = console_new(d->base, d->pool, d->keys, d->offload,
	    &opt)) == NULL)
		fatal("console", "cannot start");
}

/* The desk's own web chat: it answers with the desk's hours, so after
 * the auto-replies. */
static void
webchat_start(struct daemon *d)
{
	struct webchat_options opt = {
		.web_dir = d->cfg.webchat_dir,
		.cookie_secure = d->cfg.console_cookie_secure != 0,
		.public_url = d->cfg.public_url,
		.channel_kind = "line",
		.channel_name = d->cfg.channel_name,
	};

	if ((d->webchat = webchat_new(d->base, d->pool, d->keys, d->ingest,
	    d->autoreply, &opt)) == NULL)
		fatal("webchat", "cannot start");
}

/* Is the host of "host[:port]..." this machine? */
static bool
smtp_host_local(const char *host)
{
	static const char *const local[] = { "127.0.0.1", "localhost",
	    "[::1]" };

	for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++) {
		size_t n = strlen(local[i]);

		if (strncmp(host, local[i], n) == 0 && (host[n] == '\0' ||
		    host[n] == ':' || host[n] == '/'))
			return true;
	}
	return false;
}

/*
 * E-mail alerts, when configured: a configuration that cannot work stops
 * the start, rather than a crisis alert failing at night.
 */
static void
crisis_mail_start(struct daemon *d)
{
	struct crisis_mail mail = { .url = d->cfg.smtp_url,
	    .from = d->cfg.smtp_from, .user = d->cfg.smtp_user,
	    .require_tls = d->cfg.smtp_starttls != 0 };
	char *password = NULL, err[512];
	size_t password_len = 0;

	if (d->cfg.smtp_url[0] == '\0')
		return;
	if (strncmp(d->cfg.smtp_url, "smtp://", 7) != 0 &&
	    strncmp(d->cfg.smtp_url, "smtps://", 8) != 0)
		fatal("smtp_url", "expected smtp://host:port or smtps://host:port");
	if (!mail_address_valid(d->cfg.smtp_from))
		fatal("smtp_from", "expected the sender's address, name@example.jp");
	if ((d->cfg.smtp_user[0] == '\0') != (d->cfg.smtp_password_file[0] ==
	    '\0'))
		fatal("smtp_user", "smtp_user and smtp_password_file go together");
	/* A password may cross the network only encrypted. */
	if (d->cfg.smtp_user[0] != '\0' && d->cfg.smtp_starttls == 0 &&
	    strncmp(d->cfg.smtp_url, "smtp://", 7) == 0 &&
	    !smtp_host_local(d->cfg.smtp_url + 7))
		fatal("smtp_starttls", "a password goes to another host only "
		    "over TLS: smtps://, or smtp_starttls = 1");
	if (d->cfg.smtp_password_file[0] != '\0') {
		warn_if_exposed("smtp_password_file", d->cfg.smtp_password_file);
		if (!config_read_secret(d->cfg.smtp_password_file, &password,
		    &password_len, err, sizeof(err)))
			fatal("smtp_password_file", err);
	}
	mail.password = password;
	if (!crisis_alerts_set_mail(d->alerts, &mail))
		fatal("smtp", "out of memory");
	if (password != NULL) {
		OPENSSL_cleanse(password, password_len);
		free(password);
	}
}

/* Every inbound text is checked before the transaction that stores it. */
static void
crisis_start(struct daemon *d)
{
	struct http_client_options opt = { .user_agent = "madoguchi/"
	    MADOGUCHI_VERSION };
	char why[512], model[PATH_MAX];

	if (!crisis_model_path(d->cfg.crisis_model, d->cfg.crisis_lexicon,
	    model, sizeof(model))) {
		if (strcmp(d->cfg.crisis_model, "none") != 0)
			log_warn("crisis.model_missing", "lexicon=\"%s\" "
			    "why=\"no model.txt beside it: the lexicon alone\"",
			    d->cfg.crisis_lexicon);
		model[0] = '\0';
	}
	if ((d->crisis = crisis_live_new(d->base, d->pool, d->offload,
	    d->cfg.crisis_lexicon, model, d->cfg.channel_name, why,
	    sizeof(why))) == NULL)
		fatal("crisis_lexicon", why);
	ingest_set_crisis(d->ingest, crisis_live_check, d->crisis);
	if ((d->alert_http = http_client_new(d->base, &opt)) == NULL ||
	    (d->alerts = crisis_alerts_new(d->base, d->pool,
	    d->alert_http)) == NULL)
		fatal("crisis alerts", "cannot start");
	crisis_mail_start(d);
}

static void
daemon_start(struct daemon *d)
{
	struct evconnlistener *listener;
	char *secret;
	size_t secret_len;

	load_secrets(d, &secret, &secret_len);
	if ((d->base = event_base_new()) == NULL ||
	    (d->http = evhttp_new(d->base)) == NULL)
		fatal("libevent", "cannot create the event loop");
	evhttp_set_max_body_size(d->http, (ev_ssize_t)d->cfg.max_body_bytes);
	evhttp_set_max_headers_size(d->http, 64 * 1024);
	evhttp_set_timeout(d->http, 60);
	evhttp_set_gencb(d->http, other_path_cb, d);
	d->pool = db_pool_new(d->base, "main", d->cfg.database_url,
	    (int)d->cfg.db_connections, DB_OPTIONS_DEFAULT);
	d->ingest_pool = db_pool_new(d->base, "ingest", d->cfg.database_url, 1,
	    INGEST_DB_OPTIONS);
	d->ingest = d->ingest_pool ? ingest_new(d->ingest_pool, d->keys, "line",
	    d->cfg.channel_name) : NULL;
	d->webhook = d->ingest ? webhook_new(d->http, d->ingest, secret,
	    secret_len, (size_t)d->cfg.max_body_bytes) : NULL;
	d->health = health_new(d->http, d->pool, d->ingest_pool);
	OPENSSL_cleanse(secret, secret_len);
	free(secret);
	if (d->pool == NULL || d->webhook == NULL || d->health == NULL)
		fatal("startup", "out of memory");
	db_pool_on_connect(d->pool, main_pool_connected, d);
	console_start(d);
	crisis_start(d);
	replies_start(d);
	webchat_start(d);
	/* Last: the port opens only when everything behind it is ready (the
	 * crisis lexicon takes a moment to build). */
	if ((listener = listen_on(d->base, d->cfg.listen)) == NULL)
		fatal(d->cfg.listen, strerror(errno));
	if ((d->bound = evhttp_bind_listener(d->http, listener)) == NULL)
		fatal("listen", "out of memory");
	d->sigterm = evsignal_new(d->base, SIGTERM, stop_cb, d);
	d->sigint = evsignal_new(d->base, SIGINT, stop_cb, d);
	if (d->sigterm == NULL || d->sigint == NULL ||
	    event_add(d->sigterm, NULL) != 0 || event_add(d->sigint, NULL) != 0)
		fatal("signals", "cannot watch SIGTERM/SIGINT");
}

/*
 * Order matters: requests to LINE still out are cancelled (their rows stay
 * claimed until this session ends), then the pools answer what still
 * waits, then what those answers touched goes, and HTTP last.
 */
static void
daemon_free(struct daemon *d)
{
	http_client_free(d->line);
	http_client_free(d->alert_http);
	offload_free(d->offload);	/* its last callbacks still query */
	db_pool_free(d->listen_pool);
	db_pool_free(d->outbox_pool);
	db_pool_free(d->ingest_pool);
	db_pool_free(d->pool);
	outbox_sender_free(d->sender);
	autoreply_free(d->autoreply);
	if (d->access_token != NULL)
		OPENSSL_cleanse(d->access_token, d->access_token_len);
	free(d->access_token);
	console_free(d->console);
	webchat_free(d->webchat);	/* after the pools: their answers */
	crisis_live_free(d->crisis);	/* after the pools: their answers */
	crisis_alerts_free(d->alerts);
	health_free(d->health);
	webhook_free(d->webhook);
	ingest_free(d->ingest);
	if (d->drain != NULL)
		event_free(d->drain);
	event_free(d->sigterm);
	event_free(d->sigint);
	/* freeing them restored the default: a second SIGTERM (a supervisor
	 * asking again) must not kill the last of the cleanup */
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	evhttp_free(d->http);	/* and the listener it was bound to */
	event_base_free(d->base);
	keyring_free(d->keys);
	metrics_reset();
	config_free(&d->cfg);
	libevent_global_shutdown();
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: madoguchid [-c config-file]\n"
	    "Settings come from the file (default " CONFIG_DEFAULT_PATH
	    ", optional)\nand from MADOGUCHI_* environment variables; see "
	    "README.md.\n");
}

int
main(int argc, char **argv)
{
	struct daemon d;
	const char *path = CONFIG_DEFAULT_PATH;
	bool required = false;
	char err[512];
	int opt;

	memset(&d, 0, sizeof(d));
	while ((opt = getopt(argc, argv, "c:hV")) != -1) {
		switch (opt) {
		case 'c': path = optarg; required = true; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("madoguchid %s\n", MADOGUCHI_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (getenv("MADOGUCHI_CONFIG") != NULL && !required) {
		path = getenv("MADOGUCHI_CONFIG");
		required = true;
	}
	if (!config_load(&d.cfg, path, required, err, sizeof(err)))
		fatal("config", err);
	if (!log_set_level_name(d.cfg.log_level))
		fatal("log_level", "expected debug, info, warn or error");
	if (!clock_init(d.cfg.now, d.cfg.now_at, err, sizeof(err)))
		fatal("now", err);
	/* A client hanging up mid-reply must never kill the process. */
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	daemon_start(&d);
	log_info("daemon.started", "version=%s listen=%s db_connections=%ld "
	    "channel=%s test_clock=%s", MADOGUCHI_VERSION, d.cfg.listen,
	    d.cfg.db_connections, d.cfg.channel_name,
	    d.cfg.now[0] != '\0' ? "on" : "off");
	event_base_dispatch(d.base);
	daemon_free(&d);
	return 0;
}
