/*
 * health.c - liveness, readiness and metrics endpoints.
 *
 * /readyz asks the database each time (one short query), so "ready" means
 * a statement just ran, not that a connection once opened.
 *
 * /metrics adds the desk's state as the database holds it, read at each
 * scrape: every process shares it, so no process keeps the only count.
 */
#include "health.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "clock.h"
#include "http_reply.h"
#include "metrics.h"
#include "storage.h"

struct health_check {
	struct health		*health;
	struct evhttp_request	*req;
};

struct health {
	struct db_pool	*pool;
	struct db_pool	*ingest_pool;
	bool		 stopping;
};

static void
health_not_ready(struct evhttp_request *req, const char *reason)
{
	char body[256];

	snprintf(body, sizeof(body), "{\"ready\":false,\"reason\":\"%s\"}",
	    reason);
	http_reply_json(req, "/readyz", 503, body);
}

static void
health_readyz_result(void *arg, const PGresult *res, const char *why)
{
	struct health_check *c = arg;
	const char *sqlstate;
	char body[160];
	int have = -1;

	if (res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK)
		have = atoi(PQgetvalue(res, 0, 0));
	else if (res != NULL && (sqlstate = PQresultErrorField(res,
	    PG_DIAG_SQLSTATE)) != NULL && strcmp(sqlstate, "42P01") == 0)
		have = 0;	/* never migrated */
	if (have < 0) {
		health_not_ready(c->req, res ? "database error" : why);
	} else if (have != migrations_latest()) {
		snprintf(body, sizeof(body), "schema version %d, this build "
		    "needs %d: run madoguchi migrate", have, migrations_latest());
		health_not_ready(c->req, body);
	} else if (c->health->stopping) {
		health_not_ready(c->req, "stopping");
	} else {
		snprintf(body, sizeof(body), "{\"ready\":true,\"schema\":%d}",
		    have);
		http_reply_json(c->req, "/readyz", 200, body);
	}
	free(c);
}

static void
health_readyz_cb(struct evhttp_request *req, void *arg)
{
	struct health *h = arg;
	struct health_check *c;

	if (h->stopping) {
		health_not_ready(req, "stopping");
		return;
	}
	if (db_pool_connected(h->ingest_pool) == 0) {
		health_not_ready(req, "database unreachable (ingest connection)");
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		health_not_ready(req, "out of memory");
		return;
	}
	c->health = h;
	c->req = req;
	if (!db_query(h->pool, migrations_version_sql, 0, NULL,
	    health_readyz_result, c)) {
		free(c);
		health_not_ready(req, "database unreachable");
	}
}

static void
health_healthz_cb(struct evhttp_request *req, void *arg)
{
	(void)arg;
	http_reply_json(req, "/healthz", 200, "{\"status\":\"ok\"}");
}

/*
 * What a desk's monitoring should hear of before a person does: replies
 * LINE has not taken yet (and how long the oldest has waited), people
 * waiting past their reply deadline, crisis alerts nobody acknowledged.
 * $1 now (the desk's clock).
 */
static const char health_desk_sql[] =
"SELECT (SELECT count(*) FROM outbox WHERE state = 'pending'),"
"  (SELECT coalesce(greatest(0, floor(extract(epoch FROM"
"      $1::timestamptz - min(created_at)))), 0)::bigint"
"     FROM outbox WHERE state = 'pending'),"
"  (SELECT count(*) FROM conversations"
"    WHERE state <> 'closed' AND reply_due_at < $1::timestamptz),"
"  (SELECT count(*) FROM crisis_events"
"    WHERE acknowledged_at IS NULL AND next_alert_at IS NOT NULL)";

static const struct {
	const char *name, *help;
} health_desk_gauges[] = {
	{ "madoguchi_outbox_pending",
	  "outbound messages not yet taken by LINE (all processes)" },
	{ "madoguchi_outbox_oldest_pending_seconds",
	  "how long the oldest of them has waited" },
	{ "madoguchi_conversations_overdue",
	  "open conversations past their reply deadline" },
	{ "madoguchi_crisis_alerts_unacknowledged",
	  "crisis alerts still repeating, nobody has acknowledged them" },
};

#define HEALTH_DESK_GAUGES \
	(int)(sizeof(health_desk_gauges) / sizeof(health_desk_gauges[0]))

/* This process's metrics, then the desk's (up 0 if unread). */
static void
health_metrics_result(void *arg, const PGresult *res, const char *why)
{
	struct health_check *c = arg;
	struct evbuffer *out = evbuffer_new();
	bool up = res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK &&
	    PQntuples(res) == 1 && PQnfields(res) == HEALTH_DESK_GAUGES;

	(void)why;
	if (out == NULL) {
		http_reply_error(c->req, "/metrics", 500, "out of memory");
		free(c);
		return;
	}
	metrics_render(out);
	evbuffer_add_printf(out, "# HELP madoguchi_desk_state_up whether the "
	    "desk's state below was read from the database\n"
	    "# TYPE madoguchi_desk_state_up gauge\n"
	    "madoguchi_desk_state_up %d\n", up ? 1 : 0);
	for (int i = 0; up && i < HEALTH_DESK_GAUGES; i++)
		evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s gauge\n%s %s\n",
		    health_desk_gauges[i].name, health_desk_gauges[i].help,
		    health_desk_gauges[i].name, health_desk_gauges[i].name,
		    PQgetvalue(res, 0, i));
	http_reply(c->req, "/metrics", 200, "text/plain; version=0.0.4", out);
	evbuffer_free(out);
	free(c);
}

static void
health_metrics_cb(struct evhttp_request *req, void *arg)
{
	struct health *h = arg;
	struct health_check *c = calloc(1, sizeof(*c));
	char now[CLOCK_ISO_LEN];
	const char *params[1] = { now };

	if (c == NULL) {
		http_reply_error(req, "/metrics", 500, "out of memory");
		return;
	}
	c->health = h;
	c->req = req;
	clock_format_utc(clock_now_us(), now);
	if (!db_query(h->pool, health_desk_sql, 1, params,
	    health_metrics_result, c))
		health_metrics_result(c, NULL, "no connection");
}

struct health *
health_new(struct evhttp *http, struct db_pool *pool,
    struct db_pool *ingest_pool)
{
	struct health *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return NULL;
	h->pool = pool;
	h->ingest_pool = ingest_pool;
	metrics_describe("madoguchi_http_requests_total", "counter",
	    "HTTP requests answered, by route and status");
	if (evhttp_set_cb(http, "/healthz", health_healthz_cb, h) != 0 ||
	    evhttp_set_cb(http, "/readyz", health_readyz_cb, h) != 0 ||
	    evhttp_set_cb(http, "/metrics", health_metrics_cb, h) != 0) {
		free(h);
		return NULL;
	}
	return h;
}

void
health_set_stopping(struct health *h)
{
	h->stopping = true;
}

void
health_free(struct health *h)
{
	free(h);
}
