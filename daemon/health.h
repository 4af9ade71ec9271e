/*
 * health.h - GET /healthz (the process answers), GET /readyz (it can store:
 * database reachable, schema current, not shutting down) and GET /metrics.
 */
#ifndef MADOGUCHI_HEALTH_H
#define MADOGUCHI_HEALTH_H

#include <stdbool.h>

struct db_pool;
struct evhttp;
struct health;

/* Ready needs both: pool answers the check, ingest_pool stores webhooks. */
struct health	*health_new(struct evhttp *http, struct db_pool *pool,
		    struct db_pool *ingest_pool);
/* From now on /readyz says not ready: the process is stopping. */
void		 health_set_stopping(struct health *h);
/* After db_pool_free, which answers the checks still waiting. */
void		 health_free(struct health *h);

#endif
