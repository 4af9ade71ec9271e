/*
 * http_static.h - serving a page's own files from a folder: plain names
 * only (no "..", no hidden files), known types only, never a symlink, with
 * the given Content-Security-Policy and the usual hardening headers.
 */
#ifndef MADOGUCHI_HTTP_STATIC_H
#define MADOGUCHI_HTTP_STATIC_H

struct evhttp_request;

/*
 * Answers GET or HEAD of path (relative to dir; "" is index.html), 405
 * for other methods, 404 when there is no such file. route labels the
 * answer in /metrics.
 */
void	http_static_serve(struct evhttp_request *req, const char *route,
	    const char *dir, const char *path, const char *csp);

#endif
