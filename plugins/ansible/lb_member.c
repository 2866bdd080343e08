// SPDX-License-Identifier: MIT
/* lb_member: the Ansible binary module. Ansible runs it with the path of a
 * JSON file holding the task's options and reads one JSON object from its
 * stdout; nothing validates the options for a binary module, so argspec.c
 * does what AnsibleModule would, with the options of spec.c. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "argspec.h"
#include "lbm_json.h"
#include "lbm_time.h"
#include "lbmember.h"
#include "spec.h"

struct module {
	const char *name; /* as the task named it: "lb_member" or "lbmember.lb.lb_member" */
	bool check_mode, diff;
	struct spec spec;
	json_t *args;	  /* the arguments file's object */
	json_t *params;	  /* validated: module.params of a Python module */
	json_t *no_log;	  /* values never to print */
	json_t *warnings; /* AnsibleModule's, then the core's: one string each */
	json_t *result;
	bool multi; /* several balancers: results name theirs */
};

static int fail(struct module *m, const char *fmt, ...)
{
	va_list ap;
	char *msg;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	msg = len < 0 ? NULL : malloc((size_t)len + 1);
	if (msg) {
		va_start(ap, fmt);
		vsnprintf(msg, (size_t)len + 1, fmt, ap);
		va_end(ap);
	}
	json_object_set_new(m->result, "msg", msg ? lbm_json_text(msg) : json_string("out of memory"));
	free(msg);
	return -1;
}

static const char *json_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER:
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	case JSON_NULL: return "null";
	case JSON_OBJECT: break;
	}
	return "an object";
}

static int load_args(struct module *m, int argc, char **argv)
{
	json_error_t err;
	json_t *wrapped;
	FILE *f;

	if (argc != 2)
		return fail(m, "lb_member is an Ansible module: use it in a playbook, or run it as "
			       "'lb_member ARGS_FILE' where ARGS_FILE holds a JSON object of its options");
	f = fopen(argv[1], "r");
	if (!f)
		return fail(m, "cannot read the arguments file %s: %s", argv[1], strerror(errno));
	m->args = json_loadf(f, 0, &err);
	fclose(f);
	if (!m->args)
		return fail(m, "the arguments file %s is not valid JSON: %s at line %d, column %d", argv[1], err.text,
			    err.line, err.column);
	if (!json_is_object(m->args))
		return fail(m, "the arguments file %s must hold a JSON object of options, not %s", argv[1],
			    json_kind(m->args));
	/* What a Python module reads; accepted so one file can drive both. */
	wrapped = json_object_get(m->args, "ANSIBLE_MODULE_ARGS");
	if (wrapped && json_is_object(wrapped)) {
		json_incref(wrapped);
		json_decref(m->args);
		m->args = wrapped;
	}
	return 0;
}

/* The _ansible_* keys the controller adds: those used are read, and every
 * one is dropped (newer controllers add keys this module cannot know). */
static int internal_args(struct module *m, json_t *plain)
{
	const char *key;
	json_t *value;
	bool *flag;

	json_object_foreach(m->args, key, value) {
		if (strncmp(key, "_ansible_", 9)) {
			if (json_object_set(plain, key, value) < 0)
				return fail(m, "out of memory");
			continue;
		}
		if (!strcmp(key, "_ansible_module_name") && json_is_string(value))
			m->name = json_string_value(value);
		flag = !strcmp(key, "_ansible_check_mode") ? &m->check_mode
		       : !strcmp(key, "_ansible_diff")	   ? &m->diff
							   : NULL;
		if (flag && as_boolean(value, flag) < 0)
			return fail(m, "%s must be a boolean", key);
	}
	return 0;
}

static const char *opt_str(const struct module *m, const char *name)
{
	return json_string_value(json_object_get(m->params, name));
}

/* A validated int may still be a bool, as in Python (True is 1). */
static long long opt_int(const struct module *m, const char *name)
{
	const json_t *v = json_object_get(m->params, name);

	return json_is_boolean(v) ? json_is_true(v) : json_integer_value(v);
}

static double opt_float(const struct module *m, const char *name)
{
	return json_real_value(json_object_get(m->params, name));
}

static bool opt_bool(const struct module *m, const char *name)
{
	return json_is_true(json_object_get(m->params, name));
}

static bool opt_set(const struct module *m, const char *name)
{
	return !json_is_null(json_object_get(m->params, name));
}

/* The reason, or NULL: an empty one is how a template says "none"
 * (`reason: "{{ why | default('') }}"`), for a role that drains and
 * enables with the same variables. */
static const char *opt_reason(const struct module *m)
{
	const char *reason = opt_str(m, "reason");

	return reason && *reason ? reason : NULL;
}

/* force_after, as the module names its wait; what the core checks itself
 * (a reason's length and characters, force_after with enabled) is left to
 * its messages. A reason with enabled is the core's warning: it clears the
 * record, and a role may pass one reason to both. */
static int validate_drain_options(struct module *m)
{
	double force_after = opt_float(m, "force_after");

	if (!opt_set(m, "force_after"))
		return 0;
	if (!(force_after > 0))
		return fail(m, "force_after must be more than 0 seconds, got: %g", force_after);
	if (!opt_bool(m, "wait"))
		return fail(m, "force_after goes with wait: true: it cuts the connections the wait still waits for");
	if (!(force_after < opt_float(m, "wait_timeout")))
		return fail(m, "force_after must be less than wait_timeout (%g s), got: %g",
			    opt_float(m, "wait_timeout"), force_after);
	return 0;
}

static int validate(struct module *m)
{
	json_t *plain = json_object();
	const char *why;
	char *msg = NULL;
	int ret;

	if (spec_build(&m->spec, &why) < 0)
		return fail(m, "lb_member: %s", why);
	if (!plain)
		return fail(m, "out of memory");
	ret = internal_args(m, plain);
	if (ret == 0) {
		m->params = as_validate(m->spec.opts, m->spec.n, m->name, plain, m->no_log, m->warnings, &msg);
		ret = !m->params ? fail(m, "out of memory") : msg ? fail(m, "%s", msg) : 0;
	}
	free(msg);
	json_decref(plain);
	if (ret < 0)
		return ret;
	/* Beyond argument_spec: what a Python module would check in its own code. */
	if (!opt_set(m, "member"))
		return fail(m, "member must name a member, got: None");
	if (opt_set(m, "weight") && opt_int(m, "weight") < 0)
		return fail(m, "weight must be 0 or more, got: %lld", opt_int(m, "weight"));
	/* Checked here too, before the cast to unsigned could wrap it into range. */
	if (opt_set(m, "weight") && opt_int(m, "weight") > LBM_WEIGHT_MAX)
		return fail(m, "weight must be %d or less, got: %lld", LBM_WEIGHT_MAX, opt_int(m, "weight"));
	if (opt_int(m, "min_enabled") < 0)
		return fail(m, "min_enabled must be 0 or more, got: %lld", opt_int(m, "min_enabled"));
	if (opt_bool(m, "wait") && !(opt_float(m, "wait_timeout") > 0))
		return fail(m, "wait_timeout must be more than 0 seconds when wait is true, got: %g",
			    opt_float(m, "wait_timeout"));
	return validate_drain_options(m);
}

static void describe(char *buf, size_t size, const struct lbm_member *m, bool with_weight)
{
	if (with_weight && m->weight >= 0)
		snprintf(buf, size, "%s (weight %d)", lbm_state_name(m->state), m->weight);
	else
		snprintf(buf, size, "%s", lbm_state_name(m->state));
}

/* One line for msg: what changed (or would), else what already was. */
static char *summary(const struct module *m, const struct lbm_result *res)
{
	char before[64], after[64], *text = NULL;
	size_t size;
	FILE *f = open_memstream(&text, &size);

	if (!f)
		return NULL;
	if (m->check_mode && res->changed)
		fputs("check mode, nothing changed: would set ", f);
	for (size_t i = 0, n = 0; i < res->n; i++) {
		const struct lbm_outcome *o = &res->outcomes[i];
		bool weight = o->before.weight != o->after.weight;

		if (o->changed != res->changed)
			continue;
		describe(before, sizeof(before), &o->before, weight);
		describe(after, sizeof(after), &o->after, weight);
		fprintf(f, "%s%s%s", n++ ? "; " : "", m->multi ? o->balancer : "", m->multi ? ": " : "");
		if (o->changed)
			fprintf(f, "%s/%s: %s -> %s", o->pool, o->before.name, before, after);
		else
			fprintf(f, "%s/%s: already %s", o->pool, o->before.name, after);
		if (o->cut > 0)
			fprintf(f, " (%ld connection%s cut)", o->cut, o->cut == 1 ? "" : "s");
	}
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

/* The reason is quoted as in JSON, so that an empty one still shows. */
static void diff_record(FILE *f, const struct lbm_member *mb)
{
	json_t *reason = lbm_json_text(mb->reason ? mb->reason : "");
	char *quoted = reason ? json_dumps(reason, JSON_ENCODE_ANY) : NULL;
	char since[32];

	lbm_time_iso8601(mb->since, since, sizeof(since));
	fprintf(f, "reason: %s\nby: %s\nsince: %s\n", quoted ? quoted : "\"\"", mb->by, since);
	free(quoted);
	json_decref(reason);
}

static json_t *diff_text(const struct lbm_member *mb)
{
	char *text = NULL;
	size_t size;
	FILE *f = open_memstream(&text, &size);
	json_t *out;

	if (!f)
		return json_string("");
	fprintf(f, "state: %s\n", lbm_state_name(mb->state));
	if (mb->weight >= 0)
		fprintf(f, "weight: %d\n", mb->weight);
	/* by is always recorded: it tells a record from none. */
	if (mb->by)
		diff_record(f, mb);
	out = fclose(f) == 0 ? lbm_json_text(text) : json_string("");
	free(text);
	return out;
}

/* Ansible's diff format, one entry per member and pool: state and weight,
 * the two things `changed` is about, and who took it out, when and why. */
static json_t *diff_list(const struct module *m, const struct lbm_result *res)
{
	json_t *list = json_array();

	for (size_t i = 0; i < res->n; i++) {
		const struct lbm_outcome *o = &res->outcomes[i];
		json_t *header = json_sprintf("%s%s%s/%s", m->multi ? o->balancer : "", m->multi ? ": " : "", o->pool,
					      o->before.name);

		json_array_append_new(list,
				      json_pack("{s:O, s:O, s:o, s:o}", "before_header", header, "after_header", header,
						"before", diff_text(&o->before), "after", diff_text(&o->after)));
		json_decref(header);
	}
	return list;
}

static void report(struct module *m, const struct lbm_result *res)
{
	json_t *warnings;

	json_object_set_new(m->result, "changed", json_boolean(res->changed));
	json_object_set_new(m->result, "members", lbm_json_outcomes(res));
	if (m->diff)
		json_object_set_new(m->result, "diff", diff_list(m, res));
	warnings = lbm_json_warnings(res);
	json_array_extend(m->warnings, warnings);
	json_decref(warnings);
}

static void set_change(const struct module *m, struct lbm_change *how)
{
	lbm_state_parse(opt_str(m, "state"), &how->state);
	how->flags = LBM_CHANGE_HAS_MIN_ENABLED;
	how->min_enabled = (unsigned)opt_int(m, "min_enabled");
	if (opt_set(m, "weight")) {
		how->flags |= LBM_CHANGE_HAS_WEIGHT;
		how->weight = (unsigned)opt_int(m, "weight");
	}
	how->reason = opt_reason(m);
	/* Given in check mode too, where the core does not wait, so that it
	 * refuses a force_after it could not do (LVS) there as well. */
	if (opt_bool(m, "wait")) {
		how->wait_s = opt_float(m, "wait_timeout");
		how->force_after_s = opt_set(m, "force_after") ? opt_float(m, "force_after") : 0;
	}
	if (m->check_mode)
		how->flags |= LBM_CHANGE_DRY_RUN;
}

/* target: one URI, or a list of them (an HA pair), as the core takes
 * several: each after a comma. malloc'd; NULL with the failure set. */
static char *target_of(struct module *m)
{
	const json_t *v = json_object_get(m->params, "target");
	size_t i, len = 0;
	json_t *item;
	char *out;

	if (json_is_string(v))
		return strdup(json_string_value(v));
	if (!json_is_array(v) || !json_array_size(v)) {
		fail(m, "target must be a balancer URI or a list of them, got: %s", json_kind(v));
		return NULL;
	}
	json_array_foreach(v, i, item) {
		if (!json_is_string(item)) {
			fail(m, "target entry %zu must be a balancer URI, got: %s", i + 1, json_kind(item));
			return NULL;
		}
		len += strlen(json_string_value(item)) + 1;
	}
	out = calloc(1, len + 1);
	json_array_foreach(v, i, item) {
		if (out && i)
			strcat(out, ",");
		if (out)
			strcat(out, json_string_value(item));
	}
	if (!out)
		fail(m, "out of memory");
	return out;
}

static int run(struct module *m)
{
	struct lbm_options opt = LBM_OPTIONS_INIT;
	struct lbm_change how = LBM_CHANGE_INIT;
	struct lbm_result res = { 0 };
	struct lbm *lb;
	char err[LBM_ERRMSG_MAX], *msg, *target;
	int ret;

	if (spec_open_options(&m->spec, m->params, &opt, err, sizeof(err)) < 0)
		return fail(m, "%s", err);
	set_change(m, &how);
	target = target_of(m);
	if (!target)
		return -1;
	ret = lbm_open(&lb, target, &opt);
	free(target);
	m->multi = lb && lbm_balancers(lb) > 1;
	if (ret == 0)
		ret = lbm_member_set_state(lb, opt_str(m, "pool"), opt_str(m, "member"), &how, &res);
	report(m, &res);
	if (ret < 0) {
		fail(m, "%s", lbm_errmsg(lb));
	} else {
		msg = summary(m, &res);
		ret = msg ? 0 : fail(m, "out of memory");
		if (msg)
			json_object_set_new(m->result, "msg", lbm_json_text(msg));
		free(msg);
	}
	lbm_result_free(&res);
	lbm_close(lb);
	return ret;
}

/* Exactly one JSON object on stdout, whatever happened. */
static int emit(struct module *m, int ret)
{
	json_t *out;
	char *text;

	json_object_set_new(m->result, "failed", json_boolean(ret < 0));
	if (!json_object_get(m->result, "changed"))
		json_object_set_new(m->result, "changed", json_false());
	if (json_array_size(m->warnings))
		json_object_set(m->result, "warnings", m->warnings);
	if (m->params)
		json_object_set_new(m->result, "invocation", json_pack("{s:O}", "module_args", m->params));
	out = m->result && m->no_log ? as_remove_values(m->result, m->no_log) : NULL;
	text = out ? json_dumps(out, 0) : NULL;
	/* jansson could not allocate: the one reply that needs no memory. */
	puts(text ? text : "{\"failed\": true, \"changed\": false, \"msg\": \"lb_member: out of memory\"}");
	free(text);
	json_decref(out);
	return ret < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct module m = { .name = "lb_member" };
	int ret;

	m.result = json_object();
	m.no_log = json_array();
	m.warnings = json_array();
	ret = m.result && m.no_log && m.warnings ? load_args(&m, argc, argv) : -1;
	if (ret == 0)
		ret = validate(&m);
	if (ret == 0)
		ret = run(&m);
	ret = emit(&m, ret);
	json_decref(m.params);
	json_decref(m.args);
	json_decref(m.no_log);
	json_decref(m.warnings);
	json_decref(m.result);
	return ret;
}
