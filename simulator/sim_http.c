/*
 * The /sim/... test-control endpoints: read and clear the request log,
 * queue and list faults, send webhooks, and a health check for scripts
 * that wait for the simulator.  They need no token: they are the test's
 * side door, never part of the LINE surface.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <event2/keyvalq_struct.h>

#include "linesim.h"

static void	 sim_messages(struct sim *, struct evhttp_request *,
		    enum evhttp_cmd_type);
static void	 sim_faults(struct sim *, struct evhttp_request *,
		    enum evhttp_cmd_type);
static void	 sim_health(struct sim *, struct evhttp_request *);

void
sim_http_handle(struct sim *sim, struct evhttp_request *req,
    const char *path)
{
	enum evhttp_cmd_type	m = evhttp_request_get_command(req);

	if (strcmp(path, "/sim/messages") == 0)
		sim_messages(sim, req, m);
	else if (strcmp(path, "/sim/faults") == 0)
		sim_faults(sim, req, m);
	else if (strcmp(path, "/sim/send") == 0) {
		if (m == EVHTTP_REQ_POST)
			sim_send_handle(sim, req);
		else
			http_reply_message(req, 405, "Method not allowed");
	} else if (strcmp(path, "/sim/health") == 0 && m == EVHTTP_REQ_GET)
		sim_health(sim, req);
	else
		http_reply_message(req, 404, "Not found");
}

/* GET ?user=&path=&since= lists, DELETE clears. */
static void
sim_messages(struct sim *sim, struct evhttp_request *req,
    enum evhttp_cmd_type m)
{
	struct evkeyvalq	 q;
	const char		*query, *since_s;
	long			 since = 0;

	if (m == EVHTTP_REQ_DELETE) {
		record_clear(sim->record);
		http_reply_json(req, 200, "{}");
		return;
	}
	if (m != EVHTTP_REQ_GET) {
		http_reply_message(req, 405, "Method not allowed");
		return;
	}
	/* Zeroed is a valid empty list if there is no query to parse. */
	memset(&q, 0, sizeof(q));
	query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	if (query != NULL && evhttp_parse_query_str(query, &q) != 0) {
		http_reply_message(req, 400, "bad query string");
		return;
	}
	since_s = evhttp_find_header(&q, "since");
	if (since_s != NULL && !parse_int(since_s, 0, LONG_MAX, &since))
		http_reply_message(req, 400, "since must be a sequence number");
	else
		http_reply_cjson(req, 200, record_to_json(sim->record,
		    evhttp_find_header(&q, "user"),
		    evhttp_find_header(&q, "path"), (uint64_t)since));
	evhttp_clear_headers(&q);
}

/* POST queues a fault, GET lists pending ones, DELETE clears them. */
static void
sim_faults(struct sim *sim, struct evhttp_request *req,
    enum evhttp_cmd_type m)
{
	const char	*err;
	cJSON		*body;

	switch (m) {
	case EVHTTP_REQ_GET:
		break;
	case EVHTTP_REQ_DELETE:
		faults_clear(sim->faults);
		break;
	case EVHTTP_REQ_POST:
		if ((body = http_body_object(req)) == NULL) {
			http_reply_message(req, 400, "body must be a JSON object");
			return;
		}
		err = faults_add_json(sim->faults, body);
		cJSON_Delete(body);
		if (err != NULL) {
			http_reply_message(req, 400, err);
			return;
		}
		break;
	default:
		http_reply_message(req, 405, "Method not allowed");
		return;
	}
	http_reply_cjson(req, 200, faults_to_json(sim->faults));
}

static void
sim_health(struct sim *sim, struct evhttp_request *req)
{
	cJSON	*o = cJSON_CreateObject();

	cJSON_AddBoolToObject(o, "ok", true);
	cJSON_AddNumberToObject(o, "held", (double)hangs_count(sim->hangs));
	http_reply_cjson(req, 200, o);
}
