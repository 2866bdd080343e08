// SPDX-License-Identifier: MIT
#include "lbm_json.h"

static json_t *count_or_null(long value)
{
	return value < 0 ? json_null() : json_integer(value);
}

json_t *lbm_json_member(const struct lbm_member *m)
{
	return json_pack("{s:s, s:s, s:I, s:s, s:s, s:o, s:o, s:o, s:s, s:o, s:o, s:b, s:b}",
			 "name", m->name,
			 "address", m->address,
			 "port", (json_int_t)m->port,
			 "state", lbm_state_name(m->state),
			 "health", lbm_health_name(m->health),
			 "weight", count_or_null(m->weight),
			 "active", count_or_null(m->active),
			 "inactive", count_or_null(m->inactive),
			 "status", m->status,
			 "held", m->held[0] ? json_string(m->held) : json_null(),
			 "follows", m->follows[0] ? json_string(m->follows) : json_null(),
			 "template", !!(m->flags & LBM_MEMBER_TEMPLATE),
			 "ephemeral", !!(m->flags & LBM_MEMBER_EPHEMERAL));
}

json_t *lbm_json_outcome(const struct lbm_outcome *o)
{
	return json_pack("{s:s, s:b, s:s, s:o, s:o}", "pool", o->pool, "changed", o->changed, "result",
			 lbm_outcome_result_name(o->result), "before", lbm_json_member(&o->before), "after",
			 lbm_json_member(&o->after));
}

json_t *lbm_json_outcomes(const struct lbm_result *res)
{
	json_t *array = json_array();

	for (size_t i = 0; i < res->n; i++)
		json_array_append_new(array, lbm_json_outcome(&res->outcomes[i]));
	return array;
}

json_t *lbm_json_pools(const struct lbm_pool *pools, size_t n)
{
	json_t *array = json_array();

	for (size_t i = 0; i < n; i++) {
		json_t *members = json_array();

		for (size_t j = 0; j < pools[i].n_members; j++)
			json_array_append_new(members, lbm_json_member(&pools[i].members[j]));
		json_array_append_new(array, json_pack("{s:s, s:s, s:o}", "name", pools[i].name, "detail",
						       pools[i].detail, "members", members));
	}
	return array;
}

json_t *lbm_json_error(int code, const char *message)
{
	return json_pack("{s:s, s:s}", "code", lbm_strerror(code), "message", message);
}
