/*
 * staff.c - the staff list: for the admin, and for a supervisor choosing
 * whom to hand a conversation to. Accounts are made and
 * changed with the CLI (`madoguchi user`); the console lists them.
 */
#include "console_internal.h"

#include <stdlib.h>

static const char staff_list_sql[] =
"SELECT id, login, display_name, role, presence,"
"    totp_enrolled_at IS NOT NULL, disabled_at IS NOT NULL,"
"    coalesce(locked_until > $1::timestamptz, false)"
"  FROM staff ORDER BY login";

static void
staff_listed(void *arg, const PGresult *res, const char *why)
{
	struct api_call *call = arg;
	cJSON *o, *list;

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		api_db_error(call, "staff", res, why);
		return;
	}
	o = cJSON_CreateObject();
	list = cJSON_AddArrayToObject(o, "staff");
	for (int i = 0; i < PQntuples(res); i++) {
		cJSON *s = cJSON_CreateObject();

		cJSON_AddNumberToObject(s, "id", atof(PQgetvalue(res, i, 0)));
		cJSON_AddStringToObject(s, "login", PQgetvalue(res, i, 1));
		cJSON_AddStringToObject(s, "display_name", PQgetvalue(res, i, 2));
		cJSON_AddStringToObject(s, "role", PQgetvalue(res, i, 3));
		cJSON_AddStringToObject(s, "presence", PQgetvalue(res, i, 4));
		cJSON_AddBoolToObject(s, "totp_enrolled",
		    PQgetvalue(res, i, 5)[0] == 't');
		cJSON_AddBoolToObject(s, "disabled",
		    PQgetvalue(res, i, 6)[0] == 't');
		cJSON_AddBoolToObject(s, "locked", PQgetvalue(res, i, 7)[0] == 't');
		cJSON_AddItemToArray(list, s);
	}
	api_reply(call, 200, o);
}

/* GET /api/staff */
static void
staff_list(struct api_call *call)
{
	const char *params[1] = { call->now };

	if (!api_query(call, staff_list_sql, 1, params, staff_listed))
		api_db_error(call, "staff", NULL, "no connection");
}

const struct api_route staff_routes[] = {
	{ "GET", "/api/staff", ROLE_ADMIN | ROLE_SUPERVISOR, STAGE_FULL,
	    staff_list },
	{ NULL, NULL, 0, STAGE_NONE, NULL },
};
