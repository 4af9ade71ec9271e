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
#include <event2/event.h>
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
 * waiting past their reply deadline as the console marks them (a paused
 * contact's left out), crisis alerts still repeating unacknowledged.
 * $1 now (the desk's clock).
 */
static const char health_desk_sql[] =
"SELECT o.parts, o.oldest,"
"  (SELECT count(*) FROM conversations"
"    WHERE state = 'waiting' AND overdue_at IS NOT NULL"
"      AND reply_due_at <= $1::timestamptz"
"      AND NOT " SQL_RESTRICTED("contact_id", "$1") "),"
"  (SELECT count(*) FROM crisis_events e JOIN conversations cv"
"      ON cv.id = e.conversation_id"
"    WHERE e.acknowledged_at IS NULL AND e.next_alert_at IS NOT NULL"
"      AND cv.state <> 'closed')"
"  FROM (SELECT count(*) AS parts, coalesce(greatest(0, floor(extract("
"      epoch FROM $1::timestamptz - min(created_at)))), 0)::bigint AS oldest"
"    FROM outbox WHERE state = 'pending') o";

static const struct {
	const char *name, *help;
} health_desk_gauges[] = {
	{ "madoguchi_outbox_pending",
	  "outbound message parts LINE has not taken yet (whole desk)" },
	{ "madoguchi_outbox_oldest_pending_seconds",
	  "how long the oldest of them has waited" },
	{ "madoguchi_conversations_overdue",
	  "conversations waiting past their reply deadline (whole desk)" },
	{ "madoguchi_crisis_alerts_unacknowledged",
	  "crisis alerts still repeating, acknowledged by nobody (whole desk)" },
};

#define HEALTH_DESK_GAUGES \
	(int)(sizeof(health_desk_gauges) / sizeof(health_desk_gauges[0]))

/*
 * A scrape waits this long at most for the desk's state: a database slow
 * enough to outlast the scraper's own timeout (10 s by default) must not
 * take this process's metrics down with it, when they matter most.
 */
#define HEALTH_SCRAPE_WAIT_MS	2000

struct health_scrape {
	struct evhttp_request	*req;		/* NULL once answered */
	struct event		*deadline;
	bool			 querying;
};

/* This process's metrics, then the desk's (res NULL: up 0, none of them). */
static void
health_scrape_answer(struct health_scrape *sc, const PGresult *res)
{
	struct evbuffer *out = evbuffer_new();
	bool up = res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK &&
	    PQntuples(res) == 1 && PQnfields(res) == HEALTH_DESK_GAUGES;

	if (out == NULL) {
		http_reply_error(sc->req, "/metrics", 500, "out of memory");
		sc->req = NULL;
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
	http_reply(sc->req, "/metrics", 200, "text/plain; version=0.0.4", out);
	evbuffer_free(out);
	sc->req = NULL;
}

/* Freed once answered and no query of it is left in the pool. */
static void
health_scrape_end(struct health_scrape *sc)
{
	if (sc->req != NULL || sc->querying)
		return;
	if (sc->deadline != NULL)
		event_free(sc->deadline);
	free(sc);
}

static void
health_scrape_late(evutil_socket_t fd, short what, void *arg)
{
	struct health_scrape *sc = arg;

	(void)fd;
	(void)what;
	if (sc->req != NULL)
		health_scrape_answer(sc, NULL);
	health_scrape_end(sc);
}

static void
health_scrape_result(void *arg, const PGresult *res, const char *why)
{
	struct health_scrape *sc = arg;

	(void)why;
	sc->querying = false;
	if (sc->req != NULL) {
		if (sc->deadline != NULL)
			event_del(sc->deadline);
		health_scrape_answer(sc, res);
	}
	health_scrape_end(sc);
}

static void
health_metrics_cb(struct evhttp_request *req, void *arg)
{
	struct health *h = arg;
	struct health_scrape *sc = calloc(1, sizeof(*sc));
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	struct timeval wait = { HEALTH_SCRAPE_WAIT_MS / 1000,
	    (HEALTH_SCRAPE_WAIT_MS % 1000) * 1000 };
	char now[CLOCK_ISO_LEN];
	const char *params[1] = { now };

	if (sc == NULL) {
		http_reply_error(req, "/metrics", 500, "out of memory");
		return;
	}
	sc->req = req;
	if (conn == NULL || (sc->deadline = evtimer_new(
	    evhttp_connection_get_base(conn), health_scrape_late, sc)) == NULL ||
	    evtimer_add(sc->deadline, &wait) != 0) {
		health_scrape_answer(sc, NULL);
		health_scrape_end(sc);
		return;
	}
	clock_format_utc(clock_now_us(), now);
	sc->querying = db_query(h->pool, health_desk_sql, 1, params,
	    health_scrape_result, sc);
	if (!sc->querying) {
		event_del(sc->deadline);
		health_scrape_answer(sc, NULL);
		health_scrape_end(sc);
	}
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
