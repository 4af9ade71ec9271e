/*
 * Small helpers shared by every linesim subcommand: allocation that
 * aborts on failure, logging, secret files, clocks and option parsing.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "linesim.h"

static void	*cjson_malloc(size_t);
static bool	 is_prefixed_hex32(const char *, const char *);

void *
xmalloc(size_t n)
{
	void	*p;

	if ((p = malloc(n == 0 ? 1 : n)) == NULL) {
		fputs("linesim: out of memory\n", stderr);
		abort();
	}
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void	*p;

	if ((p = calloc(n == 0 ? 1 : n, size == 0 ? 1 : size)) == NULL) {
		fputs("linesim: out of memory\n", stderr);
		abort();
	}
	return p;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	char	*p;

	p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void
sim_log(const char *fmt, ...)
{
	va_list	ap;

	fputs("linesim: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void *
cjson_malloc(size_t n)
{
	return xmalloc(n);
}

/*
 * Route cJSON's allocations through xmalloc so that a NULL from a cJSON
 * constructor can only mean bad input, never out-of-memory.
 */
void
sim_install_cjson_hooks(void)
{
	cJSON_Hooks	hooks = { cjson_malloc, free };

	cJSON_InitHooks(&hooks);
}

/*
 * Read a token or secret from a file and strip trailing whitespace (the
 * usual newline left by editors and `echo`).  Returns NULL, with a log
 * line naming the file but never its content, on error or empty file.
 */
char *
read_secret_file(const char *path)
{
	FILE	*f;
	char	*buf;
	size_t	 len;

	if ((f = fopen(path, "r")) == NULL) {
		sim_log("%s: %s", path, strerror(errno));
		return NULL;
	}
	buf = xmalloc(4097);
	len = fread(buf, 1, 4096, f);
	if (ferror(f) || !feof(f)) {
		sim_log("%s: unreadable or longer than 4096 bytes", path);
		fclose(f);
		wipe_free(buf);
		return NULL;
	}
	fclose(f);
	while (len > 0 && isspace((unsigned char)buf[len - 1]))
		len--;
	buf[len] = '\0';
	if (len == 0) {
		sim_log("%s: empty", path);
		wipe_free(buf);
		return NULL;
	}
	return buf;
}

/* Free a string that held a secret, wiping it first. */
void
wipe_free(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

int64_t
now_realtime_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
now_monotonic_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "2024-06-10T12:34:56.789Z" */
void
format_iso8601(int64_t ms, char out[32])
{
	time_t		secs = (time_t)(ms / 1000);
	struct tm	tm;
	char		base[24];

	gmtime_r(&secs, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, 32, "%s.%03dZ", base, (int)(ms % 1000));
}

/*
 * Split "HOST:PORT" or "[V6ADDR]:PORT".  The host comes back without
 * brackets, in a new string.
 */
bool
parse_host_port(const char *s, char **host, int *port)
{
	const char	*colon, *h = s;
	size_t		 hlen;
	long		 p;

	if ((colon = strrchr(s, ':')) == NULL || colon == s)
		return false;
	hlen = (size_t)(colon - s);
	if (s[0] == '[') {
		if (hlen < 3 || s[hlen - 1] != ']')
			return false;
		h = s + 1;
		hlen -= 2;
	}
	if (!parse_int(colon + 1, 0, 65535, &p))
		return false;
	*host = xstrndup(h, hlen);
	*port = (int)p;
	return true;
}

/* Bounded decimal parser (no atoi: garbage must be an error). */
bool
parse_int(const char *s, long min, long max, long *out)
{
	char	*end;
	long	 v;

	if (s == NULL || *s == '\0')
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static bool
is_prefixed_hex32(const char *s, const char *prefixes)
{
	size_t	i;

	if (s == NULL || s[0] == '\0' || strchr(prefixes, s[0]) == NULL)
		return false;
	for (i = 1; i <= 32; i++) {
		if (!isxdigit((unsigned char)s[i]) ||
		    isupper((unsigned char)s[i]))
			return false;
	}
	return s[33] == '\0';
}

/* A LINE user id: "U" followed by 32 lowercase hex digits. */
bool
is_line_user_id(const char *s)
{
	return is_prefixed_hex32(s, "U");
}

/* A push target: user (U), group (C) or room (R) id. */
bool
is_line_chat_id(const char *s)
{
	return is_prefixed_hex32(s, "UCR");
}
