/*
 * http_static.c - a web page's own files (the console's, the web chat's)
 * from a folder, with a Content-Security-Policy that lets the page use
 * nothing from elsewhere.
 */
#include "http_static.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "http_reply.h"
#include "log.h"

#define STATIC_PATH_MAX	128
#define STATIC_FILE_MAX	(4 << 20)

static const struct {
	const char *ext;
	const char *type;
} static_types[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".json", "application/json; charset=utf-8" },
	{ ".svg", "image/svg+xml" },
	{ ".png", "image/png" },
	{ ".ico", "image/x-icon" },
	{ ".wav", "audio/wav" },
	{ ".txt", "text/plain; charset=utf-8" },
};

static const char *
static_type(const char *path)
{
	const char *dot = strrchr(path, '.');

	for (size_t i = 0; dot != NULL &&
	    i < sizeof(static_types) / sizeof(static_types[0]); i++)
		if (strcmp(dot, static_types[i].ext) == 0)
			return static_types[i].type;
	return NULL;
}

/* Plain names in plain folders: no "..", no hidden files, no oddities. */
static bool
static_path_ok(const char *path)
{
	size_t n = strlen(path);

	if (n == 0 || n > STATIC_PATH_MAX || path[0] == '/' ||
	    strstr(path, "..") != NULL || strstr(path, "/.") != NULL ||
	    path[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = path[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' ||
		    ch == '_' || ch == '/'))
			return false;
	}
	return true;
}

static void
static_headers(struct evhttp_request *req, const char *csp)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Content-Security-Policy", csp);
	evhttp_add_header(h, "X-Frame-Options", "DENY");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	/* Revalidate each time: an upgraded desk gets the new UI at once. */
	evhttp_add_header(h, "Cache-Control", "no-cache");
}

static void
static_send_file(struct evhttp_request *req, const char *route, int fd,
    off_t size, const char *type, const char *csp)
{
	struct evbuffer *body = evbuffer_new();

	if (body == NULL || evbuffer_add_file(body, fd, 0, size) != 0) {
		if (body == NULL)
			close(fd);
		http_reply_error(req, route, 500, "cannot read the file");
	} else {
		static_headers(req, csp);
		http_reply(req, route, 200, type, body);
	}
	if (body != NULL)
		evbuffer_free(body);	/* closes fd */
}

void
http_static_serve(struct evhttp_request *req, const char *route,
    const char *dir, const char *path, const char *csp)
{
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	char full[512];
	const char *type;
	struct stat st;
	int fd;

	if (path[0] == '\0')
		path = "index.html";
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		http_reply_error(req, route, 405, "method not allowed");
		return;
	}
	if (!static_path_ok(path) || (type = static_type(path)) == NULL) {
		http_reply_error(req, route, 404, "no such file");
		return;
	}
	snprintf(full, sizeof(full), "%s/%s", dir, path);
	if ((fd = open(full, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		if (errno != ENOENT)
			log_warn("static.failed", "route=%s path=%s errno=%d",
			    route, path, errno);
		http_reply_error(req, route, 404, "no such file");
		return;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > STATIC_FILE_MAX) {
		close(fd);
		http_reply_error(req, route, 404, "no such file");
		return;
	}
	static_send_file(req, route, fd, st.st_size, type, csp);
}
