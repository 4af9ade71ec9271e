/*
 * metrics.h - this process's counters and histograms, rendered in the
 * Prometheus text format for GET /metrics.
 *
 * Labels are passed preformatted ("path=\"/webhook/line\",status=\"200\"")
 * and must come from small fixed sets, never from request data.
 */
#ifndef MADOGUCHI_METRICS_H
#define MADOGUCHI_METRICS_H

#include <stdint.h>

struct evbuffer;
struct metrics_histogram;

void	metrics_describe(const char *name, const char *type, const char *help);
void	metrics_add(const char *name, const char *labels, uint64_t n);
/* Sets a gauge. */
void	metrics_set(const char *name, const char *labels, uint64_t value);

/* bounds: ascending upper bounds, the +Inf bucket is implied. */
struct metrics_histogram *metrics_histogram(const char *name, const char *help,
	    const double *bounds, int nbounds);
void	metrics_observe(struct metrics_histogram *h, double value);

void	metrics_render(struct evbuffer *out);
void	metrics_reset(void);	/* frees everything; for clean exit */

#endif
