// SPDX-License-Identifier: MIT
/* The Lua 5.4 face: local lbm = require "lbmember". Shaped like liolib.c:
 * module functions, handle methods and metamethods in three luaL_Reg tables;
 * misuse raises, failures of the balancer return fail, message, code. */
#include <lbmember.h>

#include "lbm_time.h"

#include <lauxlib.h>
#include <lua.h>

#include <limits.h>
#include <stddef.h>
#include <string.h>

#define HANDLE "lbmember.handle"
#define SCRATCH "lbmember.scratch"

struct handle {
	struct lbm *lb; /* NULL: closed */
	int busy;	/* in lbm_set_state(), whose progress function runs Lua */
};

/* What the core allocated for one call, owned by a to-be-closed userdata so
 * that a memory error while building the Lua tables (or an error raised by
 * a progress function) does not leak it. */
struct scratch {
	struct lbm_listing listing;
	struct lbm_result res;
};

static int fail(lua_State *L, int code, const char *msg)
{
	luaL_pushfail(L);
	lua_pushstring(L, msg);
	lua_pushstring(L, lbm_strerror(code));
	return 3;
}

static struct handle *tohandle(lua_State *L)
{
	struct handle *h = luaL_checkudata(L, 1, HANDLE);

	if (!h->lb)
		luaL_argerror(L, 1, "attempt to use a closed lbmember handle");
	/* The core is in the middle of a call on it: it must not be re-entered. */
	if (h->busy)
		luaL_argerror(L, 1, "attempt to use an lbmember handle from its own progress function");
	return h;
}

static struct lbm *tolb(lua_State *L)
{
	return tohandle(L)->lb;
}

static int scratch_gc(lua_State *L)
{
	struct scratch *s = luaL_checkudata(L, 1, SCRATCH);

	lbm_listing_free(&s->listing);
	lbm_result_free(&s->res);
	return 0;
}

static struct scratch *new_scratch(lua_State *L)
{
	struct scratch *s = lua_newuserdatauv(L, sizeof(*s), 0);

	memset(s, 0, sizeof(*s));
	luaL_setmetatable(L, SCRATCH);
	lua_toclose(L, -1);
	return s;
}

static void set_string(lua_State *L, const char *key, const char *value)
{
	lua_pushstring(L, value); /* NULL pushes nil: the field stays absent */
	lua_setfield(L, -2, key);
}

static void set_boolean(lua_State *L, const char *key, int value)
{
	lua_pushboolean(L, value);
	lua_setfield(L, -2, key);
}

/* Absent values (-1) stay nil, as "not reported". */
static void set_count(lua_State *L, const char *key, long value)
{
	if (value < 0)
		return;
	lua_pushinteger(L, value);
	lua_setfield(L, -2, key);
}

/* since, as the other faces show it: ISO 8601 in UTC; 0 (no record) stays nil. */
static void set_time(lua_State *L, const char *key, long long t)
{
	char text[32];

	if (!t)
		return;
	lbm_time_iso8601(t, text, sizeof(text));
	set_string(L, key, text);
}

static void push_member(lua_State *L, const struct lbm_member *m)
{
	lua_createtable(L, 0, 18);
	set_string(L, "name", m->name);
	set_string(L, "address", m->address);
	lua_pushinteger(L, m->port);
	lua_setfield(L, -2, "port");
	set_string(L, "state", lbm_state_name(m->state));
	set_string(L, "health", lbm_health_name(m->health));
	set_count(L, "weight", m->weight);
	set_count(L, "restore_weight", m->restore_weight);
	set_count(L, "active", m->active);
	set_count(L, "inactive", m->inactive);
	set_string(L, "status", m->status);
	set_string(L, "held", m->held);
	set_string(L, "follows", m->follows);
	set_boolean(L, "template", !!(m->flags & LBM_MEMBER_TEMPLATE));
	set_boolean(L, "ephemeral", !!(m->flags & LBM_MEMBER_EPHEMERAL));
	set_boolean(L, "agent", !!(m->flags & LBM_MEMBER_AGENT));
	set_string(L, "reason", m->reason);
	set_string(L, "by", m->by);
	set_time(L, "since", m->since);
}

static void push_pool(lua_State *L, const struct lbm_pool *pool)
{
	lua_createtable(L, 0, 4);
	set_string(L, "balancer", pool->balancer);
	set_string(L, "name", pool->name);
	set_string(L, "detail", pool->detail);
	lua_createtable(L, (int)pool->n_members, 0);
	for (size_t i = 0; i < pool->n_members; i++) {
		push_member(L, &pool->members[i]);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	lua_setfield(L, -2, "members");
}

static void push_listing(lua_State *L, const struct lbm_listing *listing)
{
	lua_createtable(L, (int)listing->n, 0);
	for (size_t i = 0; i < listing->n; i++) {
		push_pool(L, &listing->pools[i]);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
}

/* {{balancer, pool, changed, result, waiting, cut, before, after}...} */
static void push_outcomes(lua_State *L, const struct lbm_result *res)
{
	lua_createtable(L, (int)res->n, 0);
	for (size_t i = 0; i < res->n; i++) {
		const struct lbm_outcome *o = &res->outcomes[i];

		lua_createtable(L, 0, 8);
		set_string(L, "balancer", o->balancer);
		set_string(L, "pool", o->pool);
		set_boolean(L, "changed", o->changed);
		set_string(L, "result", lbm_outcome_result_name(o->result));
		set_boolean(L, "waiting", o->waiting);
		lua_pushinteger(L, o->cut);
		lua_setfield(L, -2, "cut");
		push_member(L, &o->before);
		lua_setfield(L, -2, "before");
		push_member(L, &o->after);
		lua_setfield(L, -2, "after");
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
}

/* {changed, dry_run, warnings = {...}, outcomes = {...}}, plus
 * pool/result/before/after at the top when there is one outcome, the usual
 * case of a named pool. */
static void push_result(lua_State *L, const struct lbm_result *res, int dry_run)
{
	lua_createtable(L, 0, 8);
	set_boolean(L, "changed", res->changed);
	set_boolean(L, "dry_run", dry_run);
	lua_createtable(L, (int)res->n_warnings, 0);
	for (size_t i = 0; i < res->n_warnings; i++) {
		lua_pushstring(L, res->warnings[i]);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	lua_setfield(L, -2, "warnings");
	push_outcomes(L, res);
	if (res->n == 1) {
		lua_rawgeti(L, -1, 1);
		lua_getfield(L, -1, "pool");
		lua_setfield(L, -4, "pool");
		lua_getfield(L, -1, "result");
		lua_setfield(L, -4, "result");
		lua_getfield(L, -1, "before");
		lua_setfield(L, -4, "before");
		lua_getfield(L, -1, "after");
		lua_setfield(L, -4, "after");
		lua_pop(L, 1);
	}
	lua_setfield(L, -2, "outcomes");
}

/* Option tables: every key must be known, so that a typo ("wiat = 30")
 * raises instead of silently doing something else. */
static const char *opt_key(lua_State *L, int arg)
{
	if (lua_type(L, -2) != LUA_TSTRING)
		luaL_argerror(L, arg,
			      lua_pushfstring(L, "option names must be strings, got a %s key", luaL_typename(L, -2)));
	return lua_tostring(L, -2);
}

static void opt_wrong_type(lua_State *L, int arg, const char *key, const char *wanted)
{
	/* The type only, never the value: it may be a password. */
	luaL_argerror(L, arg, lua_pushfstring(L, "option '%s' must be %s, got %s", key, wanted, luaL_typename(L, -1)));
}

/* ---- lbm.open's options: the core's table (lbm_option_info) ---- */

static void unknown_open_option(lua_State *L, int arg, const char *key)
{
	const struct lbm_option_info *o;
	luaL_Buffer expected;

	luaL_buffinit(L, &expected);
	for (size_t i = 0; (o = lbm_option_info(i)); i++) {
		luaL_addstring(&expected, i ? ", " : "");
		luaL_addstring(&expected, o->name);
		if (o->alias) {
			luaL_addstring(&expected, ", ");
			luaL_addstring(&expected, o->alias);
		}
	}
	luaL_pushresult(&expected);
	luaL_argerror(L, arg, lua_pushfstring(L, "unknown option '%s' (expected %s)", key, lua_tostring(L, -1)));
}

/* The value at the top of the stack as the text lbm_option_parse() takes;
 * raises when its Lua type does not fit the option. A string stays valid
 * while the options table is on the stack, as lbm_open() needs. */
static const char *open_option_text(lua_State *L, int arg, const char *key, const struct lbm_option_info *o)
{
	int type = lua_type(L, -1);

	switch (o->type) {
	case LBM_OPTION_STRING:
	case LBM_OPTION_PATH:
	case LBM_OPTION_SECRET:
		if (type != LUA_TSTRING)
			opt_wrong_type(L, arg, key, "a string");
		return lua_tostring(L, -1);
	case LBM_OPTION_SECONDS:
		if (type != LUA_TNUMBER || !(lua_tonumber(L, -1) > 0))
			opt_wrong_type(L, arg, key, "a number of seconds above 0");
		/* Converts the copy on the stack, not the table's value. */
		return lua_tostring(L, -1);
	case LBM_OPTION_FLAG:
		if (type != LUA_TBOOLEAN)
			opt_wrong_type(L, arg, key, "a boolean");
		return lua_toboolean(L, -1) ? "true" : "false";
	}
	luaL_argerror(L, arg, lua_pushfstring(L, "option '%s' has a type this module does not know", key));
	return NULL;
}

/* Fills opt from the table at arg. Misuse raises; a value the core refuses
 * (an infinite timeout, an empty path) returns LBM_EINVAL with its message
 * in err, as lbm_open() would. */
static int open_options(lua_State *L, int arg, struct lbm_options *opt, char *err, size_t errsz)
{
	if (lua_isnoneornil(L, arg))
		return 0;
	luaL_checktype(L, arg, LUA_TTABLE);
	lua_pushnil(L);
	while (lua_next(L, arg)) {
		const char *key = opt_key(L, arg);
		const struct lbm_option_info *o = lbm_option_find(key);
		int ret;

		if (!o)
			unknown_open_option(L, arg, key);
		ret = lbm_option_parse(opt, o, open_option_text(L, arg, key, o), err, errsz);
		if (ret < 0) {
			lua_pop(L, 2);
			return ret;
		}
		lua_pop(L, 1);
	}
	return 0;
}

/* ---- enable/drain/disable's options: the module's own ---- */

enum opt_type {
	OPT_SECONDS,
	OPT_COUNT,
	OPT_FLAG,
	OPT_STRING,
	OPT_FUNCTION
};

struct opt {
	const char *name;
	enum opt_type type;
	size_t offset;	 /* of the field in struct lbm_change */
	unsigned flag;	 /* OPT_COUNT, OPT_FLAG: set in lbm_change.flags */
	lua_Integer max; /* OPT_COUNT: larger values are stored as max */
};

static const struct opt change_opts[] = {
	/* Beyond LBM_WEIGHT_MAX is the core's to report: keep the value out of range. */
	{ "weight", OPT_COUNT, offsetof(struct lbm_change, weight), LBM_CHANGE_HAS_WEIGHT, LBM_WEIGHT_MAX + 1 },
	{ "wait", OPT_SECONDS, offsetof(struct lbm_change, wait_s), 0, 0 },
	{ "force_after", OPT_SECONDS, offsetof(struct lbm_change, force_after_s), 0, 0 },
	{ "min_enabled", OPT_COUNT, offsetof(struct lbm_change, min_enabled), LBM_CHANGE_HAS_MIN_ENABLED, UINT_MAX },
	{ "dry_run", OPT_FLAG, 0, LBM_CHANGE_DRY_RUN, 0 },
	/* The string and the function themselves are taken from the table by
	 * set_state(), which keeps them on the stack during the call. */
	{ "reason", OPT_STRING, 0, 0, 0 },
	{ "progress", OPT_FUNCTION, 0, 0, 0 },
	{ NULL, 0, 0, 0, 0 },
};

static const struct opt *change_opt_find(lua_State *L, int arg, const char *key)
{
	luaL_Buffer expected;

	for (const struct opt *o = change_opts; o->name; o++)
		if (!strcmp(key, o->name))
			return o;
	luaL_buffinit(L, &expected);
	for (const struct opt *o = change_opts; o->name; o++) {
		luaL_addstring(&expected, o == change_opts ? "" : ", ");
		luaL_addstring(&expected, o->name);
	}
	luaL_pushresult(&expected);
	luaL_argerror(L, arg, lua_pushfstring(L, "unknown option '%s' (expected %s)", key, lua_tostring(L, -1)));
	return NULL;
}

/* Store the value at the top of the stack into how. */
static void change_opt_store(lua_State *L, int arg, const struct opt *o, struct lbm_change *how)
{
	static const char *const wanted[] = {
		[OPT_SECONDS] = "a number of seconds, 0 or more",
		[OPT_COUNT] = "an integer, 0 or more",
		[OPT_FLAG] = "a boolean",
		[OPT_STRING] = "a string",
		[OPT_FUNCTION] = "a function",
	};
	void *field = (char *)how + o->offset;
	int type = lua_type(L, -1), isint;
	lua_Integer count = lua_tointegerx(L, -1, &isint);
	int ok = 0;

	switch (o->type) {
	case OPT_SECONDS: ok = type == LUA_TNUMBER && lua_tonumber(L, -1) >= 0; break;
	case OPT_COUNT: ok = type == LUA_TNUMBER && isint && count >= 0; break;
	case OPT_FLAG: ok = type == LUA_TBOOLEAN; break;
	case OPT_STRING: ok = type == LUA_TSTRING; break;
	case OPT_FUNCTION: ok = type == LUA_TFUNCTION; break;
	}
	if (!ok)
		opt_wrong_type(L, arg, o->name, wanted[o->type]);
	switch (o->type) {
	case OPT_SECONDS: *(double *)field = lua_tonumber(L, -1); break;
	case OPT_COUNT: *(unsigned *)field = (unsigned)(count > o->max ? o->max : count); break;
	case OPT_FLAG:
	case OPT_STRING:
	case OPT_FUNCTION: break;
	}
	if (o->type != OPT_FLAG || lua_toboolean(L, -1))
		how->flags |= o->flag;
}

static void change_options(lua_State *L, int arg, struct lbm_change *how)
{
	if (lua_isnoneornil(L, arg))
		return;
	luaL_checktype(L, arg, LUA_TTABLE);
	lua_pushnil(L);
	while (lua_next(L, arg)) {
		change_opt_store(L, arg, change_opt_find(L, arg, opt_key(L, arg)), how);
		lua_pop(L, 1);
	}
}

/* ---- the module ---- */

/* lbm.open{t1, t2}: several balancers, as the core takes them: one string,
 * each target after a comma. */
static const char *open_targets(lua_State *L)
{
	luaL_Buffer b;
	lua_Integer n;

	if (!lua_istable(L, 1))
		return luaL_checkstring(L, 1);
	n = luaL_len(L, 1);
	if (n < 1)
		luaL_argerror(L, 1, "expected a target, or a list of targets");
	luaL_buffinit(L, &b);
	for (lua_Integer i = 1; i <= n; i++) {
		if (lua_rawgeti(L, 1, i) != LUA_TSTRING)
			luaL_argerror(L, 1,
				      lua_pushfstring(L, "target %d is a %s, expected a string", (int)i,
						      luaL_typename(L, -1)));
		lua_pop(L, 1);
		if (i > 1)
			luaL_addchar(&b, ',');
		lua_rawgeti(L, 1, i);
		luaL_addvalue(&b);
	}
	luaL_pushresult(&b);
	lua_replace(L, 1);
	return lua_tostring(L, 1);
}

static int lbm_lua_open(lua_State *L)
{
	const char *target = open_targets(L);
	struct lbm_options opt = LBM_OPTIONS_INIT;
	char err[LBM_ERRMSG_MAX];
	struct handle *h;
	int ret;

	ret = open_options(L, 2, &opt, err, sizeof(err));
	if (ret < 0)
		return fail(L, ret, err);
	h = lua_newuserdatauv(L, sizeof(*h), 0);
	h->lb = NULL; /* closed until lbm_open succeeds */
	h->busy = 0;
	luaL_setmetatable(L, HANDLE);
	ret = lbm_open(&h->lb, target, &opt);
	if (ret < 0) {
		lua_pushstring(L, lbm_errmsg(h->lb));
		lbm_close(h->lb);
		h->lb = NULL;
		return fail(L, ret, lua_tostring(L, -1));
	}
	return 1;
}

static int h_gc(lua_State *L)
{
	struct handle *h = luaL_checkudata(L, 1, HANDLE);

	/* Only a __close called by hand from a progress function gets here busy
	 * (a busy handle is on the stack, never collected). */
	if (h->busy)
		return luaL_error(L, "attempt to close an lbmember handle from its own progress function");
	lbm_close(h->lb);
	h->lb = NULL;
	return 0;
}

static int h_close(lua_State *L)
{
	tolb(L);
	h_gc(L);
	lua_pushboolean(L, 1);
	return 1;
}

/* lb:save_state(path): the balancer's runtime state where it reloads it
 * from (HAProxy's server-state-file); true, or fail, message, code. */
static int h_save_state(lua_State *L)
{
	struct lbm *lb = tolb(L);
	int ret = lbm_save_state(lb, luaL_checkstring(L, 2));

	if (ret < 0)
		return fail(L, ret, lbm_errmsg(lb));
	lua_pushboolean(L, 1);
	return 1;
}

static int h_tostring(lua_State *L)
{
	struct handle *h = luaL_checkudata(L, 1, HANDLE);

	if (h->lb)
		lua_pushfstring(L, "lbmember handle (%p)", (void *)h->lb);
	else
		lua_pushliteral(L, "lbmember handle (closed)");
	return 1;
}

/* lb:pools([pool]) or lb:pools({pool...}): the pools named, in one exchange
 * where the balancer allows it. */
static int h_pools(lua_State *L)
{
	struct lbm *lb = tolb(L);
	const char *one = NULL, **names = NULL;
	size_t n = 0;
	struct scratch *s;
	int ret;

	if (lua_istable(L, 2)) {
		n = (size_t)lua_rawlen(L, 2);
		if (!n) {
			lua_newtable(L);
			return 1;
		}
		names = lua_newuserdatauv(L, n * sizeof(*names), 0);
		for (size_t i = 0; i < n; i++) {
			/* The table holds the strings while the call lasts. */
			if (lua_rawgeti(L, 2, (lua_Integer)i + 1) != LUA_TSTRING)
				luaL_argerror(L, 2,
					      lua_pushfstring(L, "pool names must be strings, got a %s at index %d",
							      luaL_typename(L, -1), (int)i + 1));
			names[i] = lua_tostring(L, -1);
			lua_pop(L, 1);
		}
	} else if (!lua_isnoneornil(L, 2)) {
		if (!lua_isstring(L, 2))
			luaL_typeerror(L, 2, "string or table");
		one = lua_tostring(L, 2);
		names = &one;
		n = 1;
	}
	s = new_scratch(L);
	ret = lbm_pools(lb, names, n, &s->listing);
	if (ret < 0)
		return fail(L, ret, lbm_errmsg(lb));
	push_listing(L, &s->listing);
	return 1;
}

static int h_member(lua_State *L)
{
	struct lbm *lb = tolb(L);
	const char *pool = luaL_optstring(L, 2, NULL);
	const char *name = luaL_checkstring(L, 3);
	struct scratch *s = new_scratch(L);
	int ret = lbm_member_get(lb, pool, name, &s->listing);

	if (ret < 0)
		return fail(L, ret, lbm_errmsg(lb));
	for (size_t i = 0; i < s->listing.n; i++)
		if (s->listing.pools[i].n_members != 1)
			return fail(L, LBM_EPROTO, "lbm_member_get gave no member");
	if (lbm_balancers(lb) == 1) {
		push_member(L, &s->listing.pools[0].members[0]);
		return 1;
	}
	/* Several balancers: the member on each, saying whose. */
	lua_createtable(L, (int)s->listing.n, 0);
	for (size_t i = 0; i < s->listing.n; i++) {
		push_member(L, &s->listing.pools[i].members[0]);
		set_string(L, "balancer", s->listing.pools[i].balancer);
		set_string(L, "pool", s->listing.pools[i].name);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	return 1;
}

/* how.progress, called from lbm_progress_fn: its errors are caught here,
 * never thrown through the core, and raised once lbm_set_state() returns. */
struct progress {
	lua_State *L;
	int func;   /* stack index of the Lua function */
	int err;    /* stack index of the slot for the first error */
	int failed; /* the function raised: it is not called again */
};

/* Under lua_pcall: (progress pointer, function). */
static int progress_call(lua_State *L)
{
	const struct lbm_progress *p = lua_touserdata(L, 1);

	lua_createtable(L, 0, 4);
	lua_pushinteger(L, (lua_Integer)p->waiting);
	lua_setfield(L, -2, "waiting");
	lua_pushnumber(L, p->waited_s);
	lua_setfield(L, -2, "waited");
	lua_pushnumber(L, p->left_s);
	lua_setfield(L, -2, "left");
	push_outcomes(L, p->result);
	lua_setfield(L, -2, "outcomes");
	lua_call(L, 1, 0);
	return 0;
}

static void progress_trampoline(const struct lbm_progress *p, void *arg)
{
	struct progress *ctx = arg;
	lua_State *L = ctx->L;

	if (ctx->failed)
		return;
	/* set_state() made room for these three: nothing here can raise. */
	lua_pushcfunction(L, progress_call);
	lua_pushlightuserdata(L, (void *)p);
	lua_pushvalue(L, ctx->func);
	if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
		lua_replace(L, ctx->err);
		ctx->failed = 1;
	}
}

/* how[key] (how at 4) when it has that type, pushed and left on the stack
 * for the call, since the progress function may change the table; its
 * index, or 0 with nothing pushed. */
static int hold_option(lua_State *L, const char *key, int type)
{
	if (!lua_istable(L, 4))
		return 0;
	lua_pushstring(L, key);
	if (lua_rawget(L, 4) == type)
		return lua_gettop(L);
	lua_pop(L, 1);
	return 0;
}

/* A Lua string may hold a NUL, which the core would take for its end. */
static int hold_reason(lua_State *L, struct lbm_change *how)
{
	int at = hold_option(L, "reason", LUA_TSTRING);
	size_t len;

	if (!at)
		return 0;
	how->reason = lua_tolstring(L, at, &len);
	return strlen(how->reason) == len ? 0 : LBM_EINVAL;
}

/* On failure the result is the fourth value when the core got as far as
 * reading the members: a script must learn what was done before it failed. */
static int set_state(lua_State *L, enum lbm_state state)
{
	struct handle *h = tohandle(L);
	const char *pool = luaL_optstring(L, 2, NULL);
	const char *name = luaL_checkstring(L, 3);
	struct lbm_change how = LBM_CHANGE_INIT;
	struct progress ctx = { .L = L };
	struct scratch *s;
	int ret, dry_run;

	how.state = state;
	change_options(L, 4, &how);
	dry_run = !!(how.flags & LBM_CHANGE_DRY_RUN);
	if (hold_reason(L, &how) < 0)
		return fail(L, LBM_EINVAL, "the reason must be one line of text: it holds a NUL byte");
	ctx.func = hold_option(L, "progress", LUA_TFUNCTION);
	if (ctx.func) {
		lua_pushnil(L);
		ctx.err = lua_gettop(L);
		how.progress = progress_trampoline;
		how.progress_arg = &ctx;
	}
	s = new_scratch(L);
	luaL_checkstack(L, 3, "no room for the progress function");
	h->busy = 1;
	ret = lbm_member_set_state(h->lb, pool, name, &how, &s->res);
	h->busy = 0;
	if (ctx.failed) {
		lua_pushvalue(L, ctx.err);
		return lua_error(L); /* closes the scratch, and the result in it */
	}
	if (ret < 0) {
		fail(L, ret, lbm_errmsg(h->lb));
		if (!s->res.n)
			return 3;
		push_result(L, &s->res, dry_run);
		return 4;
	}
	push_result(L, &s->res, dry_run);
	return 1;
}

static int h_enable(lua_State *L)
{
	return set_state(L, LBM_STATE_ENABLED);
}

static int h_drain(lua_State *L)
{
	return set_state(L, LBM_STATE_DRAINING);
}

static int h_disable(lua_State *L)
{
	return set_state(L, LBM_STATE_DISABLED);
}

static const luaL_Reg funcs[] = {
	{ "open", lbm_lua_open },
	{ NULL, NULL },
};

static const luaL_Reg meth[] = {
	{ "pools", h_pools },	  { "member", h_member },	  { "enable", h_enable }, { "drain", h_drain },
	{ "disable", h_disable }, { "save_state", h_save_state }, { "close", h_close },	  { NULL, NULL },
};

static const luaL_Reg metameth[] = {
	{ "__index", NULL }, /* placeholder */
	{ "__gc", h_gc },    { "__close", h_gc }, { "__tostring", h_tostring }, { NULL, NULL },
};

static void create_meta(lua_State *L)
{
	luaL_newmetatable(L, HANDLE);
	luaL_setfuncs(L, metameth, 0);
	luaL_newlibtable(L, meth);
	luaL_setfuncs(L, meth, 0);
	lua_setfield(L, -2, "__index");
	lua_pop(L, 1);

	luaL_newmetatable(L, SCRATCH);
	lua_pushcfunction(L, scratch_gc);
	lua_setfield(L, -2, "__gc");
	lua_pushcfunction(L, scratch_gc);
	lua_setfield(L, -2, "__close");
	lua_pop(L, 1);
}

/* lbm.options: lbm.open's options as the core describes them, for scripts
 * that offer them their own way (examples/rolling_restart.lua). */
static void push_option_table(lua_State *L)
{
	static const char *const types[] = {
		[LBM_OPTION_SECONDS] = "seconds", [LBM_OPTION_STRING] = "string", [LBM_OPTION_PATH] = "path",
		[LBM_OPTION_SECRET] = "secret",	  [LBM_OPTION_FLAG] = "flag",
	};
	const struct lbm_option_info *o;

	lua_newtable(L);
	for (size_t i = 0; (o = lbm_option_info(i)); i++) {
		lua_createtable(L, 0, 7);
		set_string(L, "name", o->name);
		set_string(L, "alias", o->alias);
		set_string(L, "type", (size_t)o->type < sizeof(types) / sizeof(types[0]) ? types[o->type] : NULL);
		set_string(L, "value", o->value);
		set_string(L, "help", o->help);
		set_string(L, "fallback", o->fallback);
		set_string(L, "schemes", o->schemes);
		lua_pushboolean(L, o->change_only);
		lua_setfield(L, -2, "change_only");
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
}

LUAMOD_API int luaopen_lbmember(lua_State *L)
{
	static const struct {
		const char *name;
		enum lbm_state state;
	} states[] = {
		{ "ENABLED", LBM_STATE_ENABLED },
		{ "DRAINING", LBM_STATE_DRAINING },
		{ "DISABLED", LBM_STATE_DISABLED },
		{ "UNKNOWN", LBM_STATE_UNKNOWN },
	};

	luaL_newlib(L, funcs);
	create_meta(L);
	set_string(L, "version", LBM_VERSION);
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		set_string(L, states[i].name, lbm_state_name(states[i].state));
	push_option_table(L);
	lua_setfield(L, -2, "options");
	return 1;
}
