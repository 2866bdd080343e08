// SPDX-License-Identifier: MIT
#define _POSIX_C_SOURCE 200809L
#include "lbm_json.h"
#include "lbm_time.h"

#include <stdlib.h>
#include <string.h>

static json_t *count_or_null(long value)
{
	return value < 0 ? json_null() : json_integer(value);
}

/* Balancers send bytes, JSON wants UTF-8: json_string() refuses invalid
 * UTF-8, and one bad byte in a status must not drop the member from the output. */
json_t *lbm_json_text(const char *s)
{
	json_t *text = json_string(s);
	char *copy;

	if (text)
		return text;
	copy = strdup(s);
	if (!copy)
		return NULL;
	for (char *c = copy; *c; c++)
		if ((unsigned char)*c >= 0x80)
			*c = '?';
	text = json_string(copy);
	free(copy);
	return text;
}

static json_t *text_or_null(const char *s)
{
	return s ? lbm_json_text(s) : json_null();
}

static json_t *time_or_null(long long t)
{
	char text[32];

	if (!t)
		return json_null();
	lbm_time_iso8601(t, text, sizeof(text));
	return json_string(text);
}

json_t *lbm_json_member(const struct lbm_member *m)
{
	return json_pack("{s:o, s:s, s:I, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:b, s:b, s:b, s:o, s:o, s:o}",
			 "name", lbm_json_text(m->name), "address", m->address, "port", (json_int_t)m->port, "state",
			 lbm_state_name(m->state), "health", lbm_health_name(m->health), "weight",
			 count_or_null(m->weight), "restore_weight", count_or_null(m->restore_weight), "active",
			 count_or_null(m->active), "inactive", count_or_null(m->inactive), "status",
			 lbm_json_text(m->status), "held", text_or_null(m->held), "follows", text_or_null(m->follows),
			 "template", !!(m->flags & LBM_MEMBER_TEMPLATE), "ephemeral",
			 !!(m->flags & LBM_MEMBER_EPHEMERAL), "agent", !!(m->flags & LBM_MEMBER_AGENT), "reason",
			 text_or_null(m->reason), "by", text_or_null(m->by), "since", time_or_null(m->since));
}

json_t *lbm_json_outcome(const struct lbm_outcome *o)
{
	return json_pack("{s:o, s:o, s:b, s:s, s:o, s:o, s:I}", "balancer",
			 lbm_json_text(o->balancer ? o->balancer : ""), "pool", lbm_json_text(o->pool), "changed",
			 o->changed, "result", lbm_outcome_result_name(o->result), "before",
			 lbm_json_member(&o->before), "after", lbm_json_member(&o->after), "cut", (json_int_t)o->cut);
}

json_t *lbm_json_outcomes(const struct lbm_result *res)
{
	json_t *array = json_array();

	for (size_t i = 0; i < res->n; i++)
		json_array_append_new(array, lbm_json_outcome(&res->outcomes[i]));
	return array;
}

json_t *lbm_json_warnings(const struct lbm_result *res)
{
	json_t *array = json_array();

	for (size_t i = 0; i < res->n_warnings; i++)
		json_array_append_new(array, lbm_json_text(res->warnings[i]));
	return array;
}

json_t *lbm_json_pools(const struct lbm_listing *l)
{
	json_t *array = json_array();

	for (size_t i = 0; i < l->n; i++) {
		json_t *members = json_array();

		for (size_t j = 0; j < l->pools[i].n_members; j++)
			json_array_append_new(members, lbm_json_member(&l->pools[i].members[j]));
		json_array_append_new(array, json_pack("{s:o, s:o, s:o, s:o}", "balancer",
						       lbm_json_text(l->pools[i].balancer ? l->pools[i].balancer : ""),
						       "name", lbm_json_text(l->pools[i].name), "detail",
						       lbm_json_text(l->pools[i].detail), "members", members));
	}
	return array;
}

json_t *lbm_json_error(int code, const char *message)
{
	return json_pack("{s:s, s:o}", "code", lbm_strerror(code), "message", lbm_json_text(message));
}
