/*
 * `linesim send`: a one-shot client of a running simulator.  It calls
 * POST /sim/send and prints one line with madoguchid's answer, so demo
 * scripts and humans can play a LINE user from the shell.  Blocking
 * libcurl is fine here: this process has nothing else to do.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "linesim.h"

#define SEND_TIMEOUT	(LINESIM_WEBHOOK_TIMEOUT + 20)	/* seconds */
#define SEND_MAX_ANSWER	(1024 * 1024)

struct send_args {
	const char	*sim;
	const char	*user;
	const char	*type;		/* NULL until a kind option is seen */
	const char	*text;
	const char	*id;		/* unsend / redeliver target */
	const char	*signature;
	bool		 unblocked;
};

struct answer {
	char	*data;
	size_t	 len;
	bool	 too_big;
};

static const struct option send_options[] = {
	{ "sim",	required_argument,	NULL, 'S' },
	{ "user",	required_argument,	NULL, 'u' },
	{ "text",	required_argument,	NULL, 't' },
	{ "image",	no_argument,		NULL, 'i' },
	{ "video",	no_argument,		NULL, 'v' },
	{ "audio",	no_argument,		NULL, 'a' },
	{ "file",	no_argument,		NULL, 'f' },
	{ "location",	no_argument,		NULL, 'l' },
	{ "sticker",	no_argument,		NULL, 's' },
	{ "follow",	no_argument,		NULL, 'F' },
	{ "unblocked",	no_argument,		NULL, 'B' },
	{ "unfollow",	no_argument,		NULL, 'U' },
	{ "unsend",	required_argument,	NULL, 'x' },
	{ "redeliver",	required_argument,	NULL, 'r' },
	{ "signature",	required_argument,	NULL, 'g' },
	{ "help",	no_argument,		NULL, 'h' },
	{ NULL,		0,			NULL, 0 },
};

static void	 send_usage(FILE *);
static int	 send_parse_args(int, char **, struct send_args *);
static bool	 set_kind(struct send_args *, const char *);
static char	*send_request_json(const struct send_args *);
static bool	 send_post(const char *url, const char *body, long *http,
		    struct answer *);
static size_t	 answer_write(char *, size_t, size_t, void *);
static int	 send_report(long http, const struct answer *);
static const char *field(const cJSON *, const char *);

int
send_cli_main(int argc, char **argv)
{
	struct send_args	 args;
	struct answer		 ans = { NULL, 0, false };
	char			*body, *url;
	long			 http = 0;
	int			 rc;

	if ((rc = send_parse_args(argc, argv, &args)) >= 0)
		return rc;
	sim_install_cjson_hooks();
	body = send_request_json(&args);
	url = xmalloc(strlen(args.sim) + sizeof("/sim/send"));
	strcpy(url, args.sim);
	if (url[0] != '\0' && url[strlen(url) - 1] == '/')
		url[strlen(url) - 1] = '\0';
	strcat(url, "/sim/send");
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = send_post(url, body, &http, &ans) ? send_report(http, &ans) : 1;
	curl_global_cleanup();
	free(ans.data);
	free(url);
	free(body);
	return rc;
}

/* Returns -1 to go on, else the exit status (help: 0, misuse: 2). */
static int
send_parse_args(int argc, char **argv, struct send_args *a)
{
	const char	*kind = NULL;
	int		 ch, i;

	memset(a, 0, sizeof(*a));
	a->sim = getenv("LINESIM_URL") ? getenv("LINESIM_URL") :
	    LINESIM_DEFAULT_URL;
	a->user = LINESIM_DEMO_USER;
	while ((ch = getopt_long(argc, argv, "", send_options, &i)) != -1) {
		switch (ch) {
		case 'S': a->sim = optarg; continue;
		case 'u': a->user = optarg; continue;
		case 'B': a->unblocked = true; continue;
		case 'g': a->signature = optarg; continue;
		case 'h': send_usage(stdout); return 0;
		case 't': a->text = optarg; break;
		case 'x': case 'r': a->id = optarg; break;
		case '?': send_usage(stderr); return 2;
		default: break;
		}
		kind = send_options[i].name;
		if (!set_kind(a, kind))
			return 2;
	}
	if (optind != argc || a->type == NULL || (a->unblocked &&
	    strcmp(a->type, "follow") != 0)) {
		send_usage(stderr);
		return 2;
	}
	return -1;
}

static bool
set_kind(struct send_args *a, const char *kind)
{
	if (a->type != NULL) {
		fprintf(stderr, "linesim send: --%s and --%s: choose one\n",
		    a->type, kind);
		return false;
	}
	a->type = kind;		/* the option name is the event type */
	return true;
}

static void
send_usage(FILE *f)
{
	fputs("usage: linesim send [--sim URL] [--user Uxxx] "
	    "[--signature bad|none] KIND\n"
	    "KIND: --text TEXT | --image | --video | --audio | --file | "
	    "--location |\n"
	    "      --sticker | --follow [--unblocked] | --unfollow | "
	    "--unsend MESSAGE_ID |\n"
	    "      --redeliver WEBHOOK_EVENT_ID\n"
	    "env: LINESIM_URL (default " LINESIM_DEFAULT_URL ")\n", f);
}

static char *
send_request_json(const struct send_args *a)
{
	cJSON	*o = cJSON_CreateObject();
	char	*s;

	if (strcmp(a->type, "redeliver") == 0)
		cJSON_AddStringToObject(o, "redeliver", a->id);
	else {
		cJSON_AddStringToObject(o, "user", a->user);
		cJSON_AddStringToObject(o, "type", a->type);
		if (a->text != NULL)
			cJSON_AddStringToObject(o, "text", a->text);
		if (a->unblocked)
			cJSON_AddTrueToObject(o, "unblocked");
		if (strcmp(a->type, "unsend") == 0)
			cJSON_AddStringToObject(o, "messageId", a->id);
	}
	if (a->signature != NULL)
		cJSON_AddStringToObject(o, "signature", a->signature);
	s = json_print(o);
	cJSON_Delete(o);
	return s;
}

static bool
send_post(const char *url, const char *body, long *http, struct answer *ans)
{
	struct curl_slist	*hdrs;
	CURL			*curl;
	CURLcode		 res;

	if ((curl = curl_easy_init()) == NULL)
		return false;
	hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, (long)SEND_TIMEOUT);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, answer_write);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, ans);
	res = curl_easy_perform(curl);
	if (res == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, http);
	else
		fprintf(stderr, "linesim send: %s: %s\n", url,
		    curl_easy_strerror(res));
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(curl);
	return res == CURLE_OK && !ans->too_big;
}

static size_t
answer_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct answer	*ans = arg;
	size_t		 n = size * nmemb;
	char		*p;

	if (ans->len + n > SEND_MAX_ANSWER) {
		ans->too_big = true;
		return 0;	/* makes curl fail the transfer */
	}
	p = xmalloc(ans->len + n + 1);
	if (ans->len > 0)
		memcpy(p, ans->data, ans->len);
	memcpy(p + ans->len, ptr, n);
	p[ans->len + n] = '\0';
	free(ans->data);
	ans->data = p;
	ans->len += n;
	return n;
}

/* Print the one-line summary; exit 0 only if madoguchid answered 2xx. */
static int
send_report(long http, const struct answer *ans)
{
	const cJSON	*st;
	cJSON		*o;
	long		 status;
	int		 rc = 1;

	o = ans->data != NULL ? cJSON_Parse(ans->data) : NULL;
	st = cJSON_GetObjectItemCaseSensitive(o, "status");
	if (http != 200 || !json_int(st, 0, 999, &status)) {
		fprintf(stderr, "linesim send: simulator answered %ld: %s\n",
		    http, field(o, "message"));
		goto done;
	}
	printf("status=%ld webhookEventId=%s replyToken=%s", status,
	    field(o, "webhookEventId"), field(o, "replyToken"));
	if (json_string(o, "messageId") != NULL)
		printf(" messageId=%s", json_string(o, "messageId"));
	putchar('\n');
	rc = status >= 200 && status <= 299 ? 0 : 1;
done:
	cJSON_Delete(o);
	return rc;
}

static const char *
field(const cJSON *o, const char *name)
{
	const char	*v = json_string(o, name);

	return v != NULL ? v : "-";
}
