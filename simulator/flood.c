/*
 * `linesim flood`: load for madoguchid's webhook receiver without a
 * running simulator.  Builds N distinct signed text webhooks (spread over
 * K users, Japanese text, emoji now and then) and POSTs them with at most
 * C in flight through libcurl's multi interface.  Bodies are built as
 * transfers start, so memory stays proportional to C, not N.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "linesim.h"

#define FLOOD_TIMEOUT		30L	/* seconds per request */
#define FLOOD_MAX_COUNT		10000000L
#define FLOOD_MAX_CONCURRENCY	1000L

struct flood {
	CURLM		*multi;
	const char	*url;
	const char	*destination;
	const char	*secret_file;
	char		*secret;
	long		 count, concurrency, users;
	long		 started, finished;
	long		 ok, non2xx, errors;
};

struct transfer {
	CURL			*easy;
	struct curl_slist	*headers;
	char			*body;
};

static const struct option flood_options[] = {
	{ "webhook-url",	 required_argument,	NULL, 'w' },
	{ "channel-secret-file", required_argument,	NULL, 's' },
	{ "count",		 required_argument,	NULL, 'n' },
	{ "concurrency",	 required_argument,	NULL, 'c' },
	{ "users",		 required_argument,	NULL, 'u' },
	{ "destination",	 required_argument,	NULL, 'd' },
	{ "help",		 no_argument,		NULL, 'h' },
	{ NULL,			 0,			NULL, 0 },
};

static const char *const flood_texts[] = {
	"こんにちは。相談したいことがあります",
	"夜分にすみません、少しお話できますか🙏",
	"ありがとうございます。よろしくお願いします",
	"昨日の件で、もう一度相談させてください😊",
	"わかりました",
};

static void	 flood_usage(FILE *);
static int	 flood_parse_args(int, char **, struct flood *);
static bool	 flood_number(const char *, const char *, long, long, long *);
static int	 flood_run(struct flood *);
static void	 flood_start(struct flood *);
static void	 flood_collect(struct flood *);
static char	*flood_body(const struct flood *, long);
static void	 flood_user(long, char[34]);
static size_t	 discard(char *, size_t, size_t, void *);

int
flood_main(int argc, char **argv)
{
	struct flood	f;
	int		rc;

	if ((rc = flood_parse_args(argc, argv, &f)) >= 0)
		return rc;
	if ((f.secret = read_secret_file(f.secret_file)) == NULL)
		return 1;
	sim_install_cjson_hooks();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = flood_run(&f);
	curl_global_cleanup();
	wipe_free(f.secret);
	return rc;
}

/* Returns -1 to go on, else the exit status (help: 0, misuse: 2). */
static int
flood_parse_args(int argc, char **argv, struct flood *f)
{
	int	ch;
	bool	ok = true;

	memset(f, 0, sizeof(*f));
	f->url = getenv("LINESIM_WEBHOOK_URL");
	f->secret_file = getenv("LINESIM_CHANNEL_SECRET_FILE");
	f->destination = LINESIM_DEFAULT_DESTINATION;
	f->users = 100;
	while ((ch = getopt_long(argc, argv, "", flood_options, NULL)) != -1) {
		switch (ch) {
		case 'w': f->url = optarg; break;
		case 's': f->secret_file = optarg; break;
		case 'd': f->destination = optarg; break;
		case 'n': ok &= flood_number("count", optarg, 1,
		    FLOOD_MAX_COUNT, &f->count); break;
		case 'c': ok &= flood_number("concurrency", optarg, 1,
		    FLOOD_MAX_CONCURRENCY, &f->concurrency); break;
		case 'u': ok &= flood_number("users", optarg, 1, 1000000,
		    &f->users); break;
		case 'h': flood_usage(stdout); return 0;
		default: flood_usage(stderr); return 2;
		}
	}
	if (!ok || optind != argc || f->url == NULL || f->secret_file == NULL ||
	    f->count == 0 || f->concurrency == 0 ||
	    !is_line_user_id(f->destination)) {
		flood_usage(stderr);
		return 2;
	}
	return -1;
}

static bool
flood_number(const char *name, const char *s, long min, long max, long *out)
{
	if (parse_int(s, min, max, out))
		return true;
	fprintf(stderr, "linesim flood: --%s %s: need %ld..%ld\n", name, s,
	    min, max);
	return false;
}

static void
flood_usage(FILE *fp)
{
	fputs("usage: linesim flood --webhook-url URL --channel-secret-file F "
	    "--count N\n"
	    "           --concurrency C (1..1000) [--users K (default 100)] "
	    "[--destination Uxxx]\n"
	    "env: LINESIM_WEBHOOK_URL LINESIM_CHANNEL_SECRET_FILE\n"
	    "prints: sent=N 2xx=A non2xx=B errors=E; exit 0 iff A == N\n", fp);
}

static int
flood_run(struct flood *f)
{
	int64_t	t0 = now_monotonic_ms();
	double	secs;
	int	running;

	if ((f->multi = curl_multi_init()) == NULL)
		return 1;
	/* One connection per in-flight request, no HTTP pipelining. */
	curl_multi_setopt(f->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
	    f->concurrency);
	curl_multi_setopt(f->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
	    f->concurrency);
	curl_multi_setopt(f->multi, CURLMOPT_MAXCONNECTS, f->concurrency);
	curl_multi_setopt(f->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_NOTHING);
	for (;;) {
		while (f->started < f->count &&
		    f->started - f->finished < f->concurrency)
			flood_start(f);
		curl_multi_perform(f->multi, &running);
		flood_collect(f);
		if (f->finished == f->count)
			break;
		if (f->started < f->count &&
		    f->started - f->finished < f->concurrency)
			continue;	/* room again: refill before waiting */
		curl_multi_poll(f->multi, NULL, 0, 1000, NULL);
	}
	curl_multi_cleanup(f->multi);
	secs = (double)(now_monotonic_ms() - t0) / 1000.0;
	printf("sent=%ld 2xx=%ld non2xx=%ld errors=%ld\n", f->count, f->ok,
	    f->non2xx, f->errors);
	fflush(stdout);
	fprintf(stderr, "linesim flood: %.2fs, %.0f requests/s\n", secs,
	    secs > 0 ? (double)f->count / secs : 0.0);
	return f->ok == f->count ? 0 : 1;
}

static void
flood_start(struct flood *f)
{
	struct transfer	*t = xcalloc(1, sizeof(*t));
	char		 sig[45], hdr[80];

	t->body = flood_body(f, f->started++);
	sign_body(f->secret, t->body, strlen(t->body), sig);
	snprintf(hdr, sizeof(hdr), "x-line-signature: %s", sig);
	t->headers = curl_slist_append(t->headers,
	    "Content-Type: application/json; charset=utf-8");
	t->headers = curl_slist_append(t->headers,
	    "User-Agent: LineBotWebhook/2.0");
	t->headers = curl_slist_append(t->headers, hdr);
	t->headers = curl_slist_append(t->headers, "Expect:");
	if (t->headers == NULL || (t->easy = curl_easy_init()) == NULL)
		abort();
	curl_easy_setopt(t->easy, CURLOPT_URL, f->url);
	curl_easy_setopt(t->easy, CURLOPT_HTTPHEADER, t->headers);
	curl_easy_setopt(t->easy, CURLOPT_POSTFIELDS, t->body);
	curl_easy_setopt(t->easy, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)strlen(t->body));
	curl_easy_setopt(t->easy, CURLOPT_TIMEOUT, FLOOD_TIMEOUT);
	curl_easy_setopt(t->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(t->easy, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(t->easy, CURLOPT_PRIVATE, t);
	if (curl_multi_add_handle(f->multi, t->easy) != CURLM_OK)
		abort();
}

/* Count and free every finished transfer. */
static void
flood_collect(struct flood *f)
{
	struct transfer	*t;
	CURLMsg		*msg;
	long		 code = 0;
	int		 left;

	while ((msg = curl_multi_info_read(f->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &t);
		if (msg->data.result != CURLE_OK)
			f->errors++;
		else {
			curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
			if (code >= 200 && code <= 299)
				f->ok++;
			else
				f->non2xx++;
		}
		curl_multi_remove_handle(f->multi, t->easy);
		curl_easy_cleanup(t->easy);
		curl_slist_free_all(t->headers);
		free(t->body);
		free(t);
		f->finished++;
	}
}

static char *
flood_body(const struct flood *f, long i)
{
	struct wh_spec	 spec;
	struct wh_built	 b;
	char		 user[34], text[256];
	size_t		 ntexts = sizeof(flood_texts) / sizeof(flood_texts[0]);

	flood_user(i % f->users, user);
	snprintf(text, sizeof(text), "%s（%ld）", flood_texts[i % ntexts],
	    i + 1);
	memset(&spec, 0, sizeof(spec));
	spec.type = "text";
	spec.user = user;
	spec.text = text;
	webhook_body_build(f->destination, &spec, &b);
	return b.body;
}

/* A stable, random-looking user id for index k (splitmix64). */
static void
flood_user(long k, char out[34])
{
	uint64_t	x = 0x9e3779b97f4a7c15ULL * (uint64_t)(k + 1), a, b;

	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	a = x ^ (x >> 27);
	b = a * 0x94d049bb133111ebULL;
	b ^= b >> 31;
	snprintf(out, 34, "U%016llx%016llx", (unsigned long long)a,
	    (unsigned long long)b);
}

static size_t
discard(char *ptr, size_t size, size_t nmemb, void *arg)
{
	(void)ptr;
	(void)arg;
	return size * nmemb;
}
