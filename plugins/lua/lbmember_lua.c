// SPDX-License-Identifier: MIT
/* The Lua 5.4 face: local lbm = require "lbmember". Shaped like liolib.c:
 * module functions, handle methods and metamethods in three luaL_Reg tables;
 * misuse raises, failures of the balancer return fail, message, code. */
#include <lbmember.h>

#include <lauxlib.h>
#include <lua.h>

#include <stddef.h>
#include <string.h>

#define HANDLE "lbmember.handle"
#define SCRATCH "lbmember.scratch"

struct handle {
	struct lbm *lb; /* NULL: closed */
};

/* What the core allocated for one call, owned by a to-be-closed userdata so
 * that a memory error while building the Lua tables does not leak it. */
struct scratch {
	struct lbm_pool *pools;
	size_t n_pools;
	struct lbm_result res;
};

static int fail(lua_State *L, int code, const char *msg)
{
	luaL_pushfail(L);
	lua_pushstring(L, msg);
	lua_pushstring(L, lbm_strerror(code));
	return 3;
}

static struct lbm *tolb(lua_State *L)
{
	struct handle *h = luaL_checkudata(L, 1, HANDLE);

	if (!h->lb)
		luaL_argerror(L, 1, "attempt to use a closed lbmember handle");
	return h->lb;
}

static int scratch_gc(lua_State *L)
{
	struct scratch *s = luaL_checkudata(L, 1, SCRATCH);

	lbm_pools_free(s->pools, s->n_pools);
	s->pools = NULL;
	s->n_pools = 0;
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
	lua_pushstring(L, value);
	lua_setfield(L, -2, key);
}

/* Absent values (-1 or "") stay nil, as "not reported". */
static void set_count(lua_State *L, const char *key, long value)
{
	if (value < 0)
		return;
	lua_pushinteger(L, value);
	lua_setfield(L, -2, key);
}

static void push_member(lua_State *L, const struct lbm_member *m)
{
	lua_createtable(L, 0, 13);
	set_string(L, "name", m->name);
	set_string(L, "address", m->address);
	lua_pushinteger(L, m->port);
	lua_setfield(L, -2, "port");
	set_string(L, "state", lbm_state_name(m->state));
	set_string(L, "health", lbm_health_name(m->health));
	set_count(L, "weight", m->weight);
	set_count(L, "active", m->active);
	set_count(L, "inactive", m->inactive);
	set_string(L, "status", m->status);
	if (m->held[0])
		set_string(L, "held", m->held);
	if (m->follows[0])
		set_string(L, "follows", m->follows);
	lua_pushboolean(L, !!(m->flags & LBM_MEMBER_TEMPLATE));
	lua_setfield(L, -2, "template");
	lua_pushboolean(L, !!(m->flags & LBM_MEMBER_EPHEMERAL));
	lua_setfield(L, -2, "ephemeral");
}

static void push_pool(lua_State *L, const struct lbm_pool *pool)
{
	lua_createtable(L, 0, 3);
	set_string(L, "name", pool->name);
	set_string(L, "detail", pool->detail);
	lua_createtable(L, (int)pool->n_members, 0);
	for (size_t i = 0; i < pool->n_members; i++) {
		push_member(L, &pool->members[i]);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	lua_setfield(L, -2, "members");
}

/* {changed, dry_run, outcomes = {{pool, changed, result, before, after}...},
 * warning}, plus pool/result/before/after at the top when there is one outcome,
 * the usual case of a named pool. */
static void push_result(lua_State *L, const struct lbm_result *res, int dry_run)
{
	lua_createtable(L, 0, 7);
	lua_pushboolean(L, res->changed);
	lua_setfield(L, -2, "changed");
	lua_pushboolean(L, dry_run);
	lua_setfield(L, -2, "dry_run");
	if (res->warning[0])
		set_string(L, "warning", res->warning);
	lua_createtable(L, (int)res->n, 0);
	for (size_t i = 0; i < res->n; i++) {
		const struct lbm_outcome *o = &res->outcomes[i];

		lua_createtable(L, 0, 5);
		set_string(L, "pool", o->pool);
		lua_pushboolean(L, o->changed);
		lua_setfield(L, -2, "changed");
		set_string(L, "result", lbm_outcome_result_name(o->result));
		push_member(L, &o->before);
		lua_setfield(L, -2, "before");
		push_member(L, &o->after);
		lua_setfield(L, -2, "after");
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
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
enum opt_type { OPT_STRING, OPT_SECONDS, OPT_COUNT, OPT_BOOLEAN, OPT_FLAG };

struct opt {
	const char *name;
	enum opt_type type;
	size_t offset; /* of the field in the C struct */
	unsigned flag; /* OPT_COUNT, OPT_FLAG: set in lbm_change.flags */
};

static const struct opt open_opts[] = {
	{ "timeout", OPT_SECONDS, offsetof(struct lbm_options, timeout_s), 0 },
	{ "user", OPT_STRING, offsetof(struct lbm_options, user), 0 },
	{ "password", OPT_STRING, offsetof(struct lbm_options, password), 0 },
	{ "password_file", OPT_STRING, offsetof(struct lbm_options, password_file), 0 },
	{ "login_provider", OPT_STRING, offsetof(struct lbm_options, login_provider), 0 },
	{ "basic_auth", OPT_BOOLEAN, offsetof(struct lbm_options, basic_auth), 0 },
	{ "ca_file", OPT_STRING, offsetof(struct lbm_options, ca_file), 0 },
	/* The Ansible module's name for it, so that one name works in both. */
	{ "ca_path", OPT_STRING, offsetof(struct lbm_options, ca_file), 0 },
	{ "insecure", OPT_BOOLEAN, offsetof(struct lbm_options, insecure), 0 },
	{ "state_dir", OPT_STRING, offsetof(struct lbm_options, state_dir), 0 },
	{ NULL, 0, 0, 0 },
};

static const struct opt change_opts[] = {
	{ "weight", OPT_COUNT, offsetof(struct lbm_change, weight), LBM_CHANGE_HAS_WEIGHT },
	{ "wait", OPT_SECONDS, offsetof(struct lbm_change, wait_s), 0 },
	{ "min_enabled", OPT_COUNT, offsetof(struct lbm_change, min_enabled), LBM_CHANGE_HAS_MIN_ENABLED },
	{ "dry_run", OPT_FLAG, 0, LBM_CHANGE_DRY_RUN },
	{ NULL, 0, 0, 0 },
};

static const struct opt *opt_find(lua_State *L, int arg, const struct opt *opts)
{
	luaL_Buffer expected;
	const char *key;

	if (lua_type(L, -2) != LUA_TSTRING)
		luaL_argerror(L, arg, lua_pushfstring(L, "option names must be strings, got a %s key",
						      luaL_typename(L, -2)));
	key = lua_tostring(L, -2);
	for (const struct opt *o = opts; o->name; o++)
		if (!strcmp(key, o->name))
			return o;
	luaL_buffinit(L, &expected);
	for (const struct opt *o = opts; o->name; o++) {
		luaL_addstring(&expected, o == opts ? "" : ", ");
		luaL_addstring(&expected, o->name);
	}
	luaL_pushresult(&expected);
	luaL_argerror(L, arg, lua_pushfstring(L, "unknown option '%s' (expected %s)", key, lua_tostring(L, -1)));
	return NULL;
}

/* Store the value at the top of the stack into the field; its text is never
 * echoed, as it may be a password. A string stays valid while the options
 * table is on the stack. */
static void opt_store(lua_State *L, int arg, const struct opt *o, void *base, unsigned *flags)
{
	static const char *const wanted[] = {
		[OPT_STRING] = "a string",
		[OPT_SECONDS] = "a number of seconds, 0 or more",
		[OPT_COUNT] = "an integer, 0 or more",
		[OPT_BOOLEAN] = "a boolean",
		[OPT_FLAG] = "a boolean",
	};
	void *field = (char *)base + o->offset;
	int type = lua_type(L, -1), isint;
	lua_Integer count = lua_tointegerx(L, -1, &isint);
	int ok = type == LUA_TNUMBER;

	switch (o->type) {
	case OPT_STRING: ok = type == LUA_TSTRING; break;
	case OPT_SECONDS: ok = ok && lua_tonumber(L, -1) >= 0; break;
	case OPT_COUNT: ok = ok && isint && count >= 0; break;
	case OPT_BOOLEAN:
	case OPT_FLAG: ok = type == LUA_TBOOLEAN; break;
	}
	if (!ok)
		luaL_argerror(L, arg, lua_pushfstring(L, "option '%s' must be %s, got %s", o->name, wanted[o->type],
						      luaL_typename(L, -1)));
	switch (o->type) {
	case OPT_STRING: *(const char **)field = lua_tostring(L, -1); break;
	case OPT_SECONDS: *(double *)field = lua_tonumber(L, -1); break;
	/* Beyond 65535 is the core's to report: keep the value out of range. */
	case OPT_COUNT: *(unsigned *)field = count > 65536 ? 65536 : (unsigned)count; break;
	case OPT_BOOLEAN: *(int *)field = lua_toboolean(L, -1); break;
	case OPT_FLAG: break;
	}
	if (flags && (o->type != OPT_FLAG || lua_toboolean(L, -1)))
		*flags |= o->flag;
}

static void check_opts(lua_State *L, int arg, const struct opt *opts, void *base, unsigned *flags)
{
	if (lua_isnoneornil(L, arg))
		return;
	luaL_checktype(L, arg, LUA_TTABLE);
	lua_pushnil(L);
	while (lua_next(L, arg)) {
		opt_store(L, arg, opt_find(L, arg, opts), base, flags);
		lua_pop(L, 1);
	}
}

static int lbm_lua_open(lua_State *L)
{
	const char *target = luaL_checkstring(L, 1);
	struct lbm_options opt = { 0 };
	struct handle *h;
	int ret;

	check_opts(L, 2, open_opts, &opt, NULL);
	h = lua_newuserdatauv(L, sizeof(*h), 0);
	h->lb = NULL; /* closed until lbm_open succeeds */
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

static int h_tostring(lua_State *L)
{
	struct handle *h = luaL_checkudata(L, 1, HANDLE);

	if (h->lb)
		lua_pushfstring(L, "lbmember handle (%p)", (void *)h->lb);
	else
		lua_pushliteral(L, "lbmember handle (closed)");
	return 1;
}

static int h_pools(lua_State *L)
{
	struct lbm *lb = tolb(L);
	const char *pool = luaL_optstring(L, 2, NULL);
	struct scratch *s = new_scratch(L);
	int ret = lbm_pools(lb, pool, &s->pools, &s->n_pools);

	if (ret < 0)
		return fail(L, ret, lbm_errmsg(lb));
	lua_createtable(L, (int)s->n_pools, 0);
	for (size_t i = 0; i < s->n_pools; i++) {
		push_pool(L, &s->pools[i]);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	return 1;
}

static int h_member(lua_State *L)
{
	struct lbm *lb = tolb(L);
	const char *pool = luaL_optstring(L, 2, NULL);
	const char *name = luaL_checkstring(L, 3);
	struct lbm_member m;
	int ret = lbm_member_get(lb, pool, name, &m);

	if (ret < 0)
		return fail(L, ret, lbm_errmsg(lb));
	push_member(L, &m);
	return 1;
}

/* On failure the result is the fourth value when the core got as far as
 * reading the members: a script must learn what was done before it failed. */
static int set_state(lua_State *L, enum lbm_state state)
{
	struct lbm *lb = tolb(L);
	const char *pool = luaL_optstring(L, 2, NULL);
	const char *name = luaL_checkstring(L, 3);
	struct lbm_change how = { .state = state };
	struct scratch *s;
	int ret;

	check_opts(L, 4, change_opts, &how, &how.flags);
	s = new_scratch(L);
	ret = lbm_member_set_state(lb, pool, name, &how, &s->res);
	if (ret < 0) {
		fail(L, ret, lbm_errmsg(lb));
		if (!s->res.n)
			return 3;
		push_result(L, &s->res, !!(how.flags & LBM_CHANGE_DRY_RUN));
		return 4;
	}
	push_result(L, &s->res, !!(how.flags & LBM_CHANGE_DRY_RUN));
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
	{ "pools", h_pools },	  { "member", h_member }, { "enable", h_enable }, { "drain", h_drain },
	{ "disable", h_disable }, { "close", h_close },	  { NULL, NULL },
};

static const luaL_Reg metameth[] = {
	{ "__index", NULL }, /* placeholder */
	{ "__gc", h_gc },
	{ "__close", h_gc },
	{ "__tostring", h_tostring },
	{ NULL, NULL },
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
	return 1;
}
