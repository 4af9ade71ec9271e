/*
 * `linesim serve`: option handling, listening socket, event loop and an
 * orderly teardown on SIGTERM/SIGINT (everything freed, so valgrind and
 * ASan runs of the test suite stay clean).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/http.h>

#include "linesim.h"

struct serve_args {
	const char	*listen;
	const char	*token_file;
	const char	*secret_file;
	const char	*webhook_url;
	const char	*destination;
	const char	*ttl;
	bool		 quiet;
};

static const struct option serve_options[] = {
	{ "listen",		required_argument,	NULL, 'l' },
	{ "access-token-file",	required_argument,	NULL, 't' },
	{ "channel-secret-file", required_argument,	NULL, 's' },
	{ "webhook-url",	required_argument,	NULL, 'w' },
	{ "destination",	required_argument,	NULL, 'd' },
	{ "reply-token-ttl",	required_argument,	NULL, 'T' },
	{ "quiet",		no_argument,		NULL, 'q' },
	{ "help",		no_argument,		NULL, 'h' },
	{ NULL,			0,			NULL, 0 },
};

static void	 serve_usage(FILE *);
static int	 serve_parse_args(int, char **, struct serve_args *);
static const char *env_or(const char *, const char *);
static bool	 serve_load_config(const struct serve_args *,
		    struct sim_config *);
static void	 serve_free_config(struct sim_config *);
static evutil_socket_t serve_listen(const char *, int, int *);
static bool	 serve_setup(struct sim *, int *bound_port);
static void	 serve_teardown(struct sim *);
static void	 serve_request_cb(struct evhttp_request *, void *);
static void	 serve_signal_cb(evutil_socket_t, short, void *);

int
serve_main(int argc, char **argv)
{
	struct serve_args	 args;
	struct sim		 sim;
	struct event		*sigterm = NULL, *sigint = NULL;
	int			 rc, port = 0;

	if ((rc = serve_parse_args(argc, argv, &args)) >= 0)
		return rc;
	memset(&sim, 0, sizeof(sim));
	if (!serve_load_config(&args, &sim.cfg)) {
		serve_free_config(&sim.cfg);
		return 1;
	}
	sim_install_cjson_hooks();
	rc = 1;
	if (!serve_setup(&sim, &port))
		goto done;
	sigterm = evsignal_new(sim.base, SIGTERM, serve_signal_cb, sim.base);
	sigint = evsignal_new(sim.base, SIGINT, serve_signal_cb, sim.base);
	if (sigterm == NULL || sigint == NULL || event_add(sigterm, NULL) ||
	    event_add(sigint, NULL))
		goto done;
	printf("linesim: listening on http://%s%s%s:%d\n",
	    strchr(sim.cfg.listen_host, ':') ? "[" : "", sim.cfg.listen_host,
	    strchr(sim.cfg.listen_host, ':') ? "]" : "", port);
	fflush(stdout);
	rc = event_base_dispatch(sim.base) < 0 ? 1 : 0;
done:
	if (sigterm != NULL)
		event_free(sigterm);
	if (sigint != NULL)
		event_free(sigint);
	serve_teardown(&sim);
	serve_free_config(&sim.cfg);
	libevent_global_shutdown();
	return rc;
}

/* Returns -1 to go on, else the exit status (help: 0, misuse: 2). */
static int
serve_parse_args(int argc, char **argv, struct serve_args *a)
{
	int	ch;

	a->listen = env_or("LINESIM_LISTEN", LINESIM_DEFAULT_LISTEN);
	a->token_file = env_or("LINESIM_ACCESS_TOKEN_FILE", NULL);
	a->secret_file = env_or("LINESIM_CHANNEL_SECRET_FILE", NULL);
	a->webhook_url = env_or("LINESIM_WEBHOOK_URL", NULL);
	a->destination = env_or("LINESIM_DESTINATION",
	    LINESIM_DEFAULT_DESTINATION);
	a->ttl = env_or("LINESIM_REPLY_TOKEN_TTL", NULL);
	a->quiet = false;
	while ((ch = getopt_long(argc, argv, "", serve_options, NULL)) != -1) {
		switch (ch) {
		case 'l': a->listen = optarg; break;
		case 't': a->token_file = optarg; break;
		case 's': a->secret_file = optarg; break;
		case 'w': a->webhook_url = optarg; break;
		case 'd': a->destination = optarg; break;
		case 'T': a->ttl = optarg; break;
		case 'q': a->quiet = true; break;
		case 'h': serve_usage(stdout); return 0;
		default: serve_usage(stderr); return 2;
		}
	}
	if (optind != argc || a->token_file == NULL ||
	    a->secret_file == NULL || a->webhook_url == NULL) {
		fprintf(stderr, "linesim serve: --access-token-file, "
		    "--channel-secret-file and --webhook-url are required\n");
		serve_usage(stderr);
		return 2;
	}
	return -1;
}

static void
serve_usage(FILE *f)
{
	fputs("usage: linesim serve --access-token-file F "
	    "--channel-secret-file F --webhook-url URL\n"
	    "           [--listen HOST:PORT] [--destination Uxxx] "
	    "[--reply-token-ttl SECONDS] [--quiet]\n"
	    "env: LINESIM_LISTEN LINESIM_ACCESS_TOKEN_FILE "
	    "LINESIM_CHANNEL_SECRET_FILE LINESIM_WEBHOOK_URL\n"
	    "     LINESIM_DESTINATION LINESIM_REPLY_TOKEN_TTL\n", f);
}

static const char *
env_or(const char *name, const char *fallback)
{
	const char	*v = getenv(name);

	return v != NULL && *v != '\0' ? v : fallback;
}

/* Startup errors are logged here; the caller exits 1. */
static bool
serve_load_config(const struct serve_args *a, struct sim_config *cfg)
{
	long	ttl = LINESIM_DEFAULT_TOKEN_TTL;

	cfg->quiet = a->quiet;
	if (!parse_host_port(a->listen, &cfg->listen_host, &cfg->listen_port)) {
		sim_log("--listen %s: need HOST:PORT", a->listen);
		return false;
	}
	if (a->ttl != NULL && !parse_int(a->ttl, 1, 86400, &ttl)) {
		sim_log("--reply-token-ttl %s: need 1..86400 seconds", a->ttl);
		return false;
	}
	cfg->reply_token_ttl = (int)ttl;
	if (!is_line_user_id(a->destination)) {
		sim_log("--destination %s: need U + 32 hex digits",
		    a->destination);
		return false;
	}
	cfg->destination = xstrdup(a->destination);
	cfg->webhook_url = xstrdup(a->webhook_url);
	if ((cfg->access_token = read_secret_file(a->token_file)) == NULL ||
	    (cfg->channel_secret = read_secret_file(a->secret_file)) == NULL)
		return false;
	return true;
}

static void
serve_free_config(struct sim_config *cfg)
{
	free(cfg->listen_host);
	free(cfg->destination);
	free(cfg->webhook_url);
	wipe_free(cfg->access_token);
	wipe_free(cfg->channel_secret);
	memset(cfg, 0, sizeof(*cfg));
}

static bool
serve_setup(struct sim *sim, int *bound_port)
{
	evutil_socket_t	fd;

	if ((sim->base = event_base_new()) == NULL ||
	    (sim->http = evhttp_new(sim->base)) == NULL) {
		sim_log("cannot initialise libevent");
		return false;
	}
	sim->sender = webhook_sender_new(sim->base, sim->cfg.webhook_url,
	    sim->cfg.channel_secret);
	if (sim->sender == NULL)
		return false;
	evhttp_set_max_body_size(sim->http, LINESIM_MAX_BODY);
	evhttp_set_max_headers_size(sim->http, LINESIM_MAX_HEADERS);
	evhttp_set_allowed_methods(sim->http, EVHTTP_REQ_GET |
	    EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_PATCH | EVHTTP_REQ_OPTIONS);
	evhttp_set_gencb(sim->http, serve_request_cb, sim);
	fd = serve_listen(sim->cfg.listen_host, sim->cfg.listen_port,
	    bound_port);
	if (fd < 0)
		return false;
	if (evhttp_accept_socket_with_handle(sim->http, fd) == NULL) {
		sim_log("cannot accept on the listening socket");
		evutil_closesocket(fd);
		return false;
	}
	sim->events = events_new();
	sim->users = users_new();
	sim->retry_keys = retry_keys_new();
	sim->record = record_new();
	sim->faults = faults_new();
	sim->hangs = hangs_new(sim->base);
	return true;
}

/*
 * Our own listening socket rather than evhttp_bind_socket: the backlog
 * must hold a 1000-connection burst from `flood`, and with port 0 we
 * report the port the kernel chose.  Binds only the first address of
 * host, never a wildcard it was not given.
 */
static evutil_socket_t
serve_listen(const char *host, int port, int *bound_port)
{
	struct addrinfo		 hints, *res;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen = sizeof(ss);
	char			 portstr[8];
	evutil_socket_t		 fd;
	int			 rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(portstr, sizeof(portstr), "%d", port);
	if ((rc = getaddrinfo(host, portstr, &hints, &res)) != 0) {
		sim_log("--listen %s: %s", host, gai_strerror(rc));
		return -1;
	}
	fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC,
	    res->ai_protocol);
	if (fd < 0 || evutil_make_listen_socket_reuseable(fd) < 0 ||
	    evutil_make_socket_nonblocking(fd) < 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) < 0 ||
	    listen(fd, SOMAXCONN) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sslen) < 0) {
		sim_log("--listen %s:%d: %s", host, port, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	*bound_port = ss.ss_family == AF_INET6 ?
	    ntohs(((struct sockaddr_in6 *)&ss)->sin6_port) :
	    ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

/*
 * Order matters: in-flight webhooks and held requests point into evhttp
 * connections, so they go before evhttp_free(), which frees every
 * connection and every request still queued on one.
 */
static void
serve_teardown(struct sim *sim)
{
	webhook_sender_free(sim->sender);
	hangs_free(sim->hangs);
	if (sim->http != NULL)
		evhttp_free(sim->http);
	events_free(sim->events);
	users_free(sim->users);
	retry_keys_free(sim->retry_keys);
	record_free(sim->record);
	faults_free(sim->faults);
	if (sim->base != NULL)
		event_base_free(sim->base);
}

static void
serve_request_cb(struct evhttp_request *req, void *arg)
{
	struct sim		*sim = arg;
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	const char		*path = NULL;

	if (uri != NULL)
		path = evhttp_uri_get_path(uri);
	if (path == NULL || *path == '\0')
		path = "/";
	if (strncmp(path, "/sim/", 5) == 0)
		sim_http_handle(sim, req, path);
	else
		api_handle(sim, req, path);
}

static void
serve_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	event_base_loopbreak(arg);
}
