/*
 * metrics.c - a small registry: a list of families, each with its series.
 *
 * A process has tens of series, so lookups are a short linear scan; the
 * webhook path touches two or three of them per request.
 */
#include "metrics.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

struct metrics_series {
	char			*labels;
	uint64_t		 value;
	struct metrics_series	*next;
};

struct metrics_histogram {
	double		*bounds;
	uint64_t	*buckets;	/* nbounds + 1, not cumulative */
	int		 nbounds;
	double		 sum;
	uint64_t	 count;
};

struct metrics_family {
	char			*name;
	const char		*type;
	char			*help;
	struct metrics_series	*series;
	struct metrics_histogram *histogram;
	struct metrics_family	*next;
};

static struct metrics_family *metrics_families, **metrics_tail = &metrics_families;

static struct metrics_family *
metrics_family(const char *name, const char *type, const char *help)
{
	struct metrics_family *f;

	for (f = metrics_families; f != NULL; f = f->next)
		if (strcmp(f->name, name) == 0)
			return f;
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	f->name = strdup(name);
	f->help = strdup(help);
	f->type = type;
	if (f->name == NULL || f->help == NULL) {
		free(f->name);
		free(f->help);
		free(f);
		return NULL;
	}
	*metrics_tail = f;
	metrics_tail = &f->next;
	return f;
}

void
metrics_describe(const char *name, const char *type, const char *help)
{
	(void)metrics_family(name, type, help);
}

static struct metrics_series *
metrics_series_find(struct metrics_family *f, const char *labels, bool create)
{
	struct metrics_series *s, **tail = &f->series;

	for (s = f->series; s != NULL; s = s->next) {
		if (strcmp(s->labels, labels) == 0)
			return s;
		tail = &s->next;
	}
	if (!create || (s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	if ((s->labels = strdup(labels)) == NULL) {
		free(s);
		return NULL;
	}
	*tail = s;	/* keep first-seen order: stable output */
	return s;
}

void
metrics_add(const char *name, const char *labels, uint64_t n)
{
	struct metrics_family *f = metrics_family(name, "counter", "");
	struct metrics_series *s;

	if (f != NULL && (s = metrics_series_find(f, labels, true)) != NULL)
		s->value += n;
}

void
metrics_set(const char *name, const char *labels, uint64_t value)
{
	struct metrics_family *f = metrics_family(name, "gauge", "");
	struct metrics_series *s;

	if (f != NULL && (s = metrics_series_find(f, labels, true)) != NULL)
		s->value = value;
}

struct metrics_histogram *
metrics_histogram(const char *name, const char *help, const double *bounds,
    int nbounds)
{
	struct metrics_family *f = metrics_family(name, "histogram", help);
	struct metrics_histogram *h;

	if (f == NULL)
		return NULL;
	if (f->histogram != NULL)
		return f->histogram;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	h->bounds = calloc((size_t)nbounds, sizeof(double));
	h->buckets = calloc((size_t)nbounds + 1, sizeof(uint64_t));
	if (h->bounds == NULL || h->buckets == NULL) {
		free(h->bounds);
		free(h->buckets);
		free(h);
		return NULL;
	}
	memcpy(h->bounds, bounds, (size_t)nbounds * sizeof(double));
	h->nbounds = nbounds;
	f->histogram = h;
	return h;
}

void
metrics_observe(struct metrics_histogram *h, double value)
{
	int i = 0;

	if (h == NULL)
		return;
	while (i < h->nbounds && value > h->bounds[i])
		i++;
	h->buckets[i]++;
	h->sum += value;
	h->count++;
}

static void
metrics_render_histogram(struct evbuffer *out, const struct metrics_family *f)
{
	const struct metrics_histogram *h = f->histogram;
	uint64_t cumulative = 0;

	for (int i = 0; i < h->nbounds; i++) {
		cumulative += h->buckets[i];
		evbuffer_add_printf(out, "%s_bucket{le=\"%g\"} %llu\n", f->name,
		    h->bounds[i], (unsigned long long)cumulative);
	}
	evbuffer_add_printf(out, "%s_bucket{le=\"+Inf\"} %llu\n", f->name,
	    (unsigned long long)h->count);
	evbuffer_add_printf(out, "%s_sum %g\n%s_count %llu\n", f->name, h->sum,
	    f->name, (unsigned long long)h->count);
}

void
metrics_render(struct evbuffer *out)
{
	const struct metrics_family *f;
	const struct metrics_series *s;

	for (f = metrics_families; f != NULL; f = f->next) {
		if (f->help[0] != '\0')
			evbuffer_add_printf(out, "# HELP %s %s\n", f->name, f->help);
		evbuffer_add_printf(out, "# TYPE %s %s\n", f->name, f->type);
		if (f->histogram != NULL) {
			metrics_render_histogram(out, f);
			continue;
		}
		for (s = f->series; s != NULL; s = s->next) {
			if (s->labels[0] == '\0')
				evbuffer_add_printf(out, "%s %llu\n", f->name,
				    (unsigned long long)s->value);
			else
				evbuffer_add_printf(out, "%s{%s} %llu\n", f->name,
				    s->labels, (unsigned long long)s->value);
		}
	}
}

void
metrics_reset(void)
{
	struct metrics_family *f, *fnext;
	struct metrics_series *s, *snext;

	for (f = metrics_families; f != NULL; f = fnext) {
		fnext = f->next;
		for (s = f->series; s != NULL; s = snext) {
			snext = s->next;
			free(s->labels);
			free(s);
		}
		if (f->histogram != NULL) {
			free(f->histogram->bounds);
			free(f->histogram->buckets);
			free(f->histogram);
		}
		free(f->name);
		free(f->help);
		free(f);
	}
	metrics_families = NULL;
	metrics_tail = &metrics_families;
}
