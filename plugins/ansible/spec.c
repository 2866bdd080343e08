// SPDX-License-Identifier: MIT
/* lb_member's options: its own, then the core's table of lbm_open()'s. */
#include "spec.h"

#include <stdio.h>
#include <string.h>

static const char *const states[] = { "enabled", "draining", "disabled", NULL };

/* What only the module has (the table holds what lbm_open() takes). Keep in
 * step with DOCUMENTATION in lb_member.py.in, in this order. */
static const struct as_option module_options[] = {
	{ .name = "target", .type = AS_RAW, .required = true }, /* a string, or a list of them */
	{ .name = "pool", .type = AS_STR },
	{ .name = "member", .type = AS_STR, .required = true },
	{ .name = "state", .type = AS_STR, .required = true, .choices = states },
	{ .name = "weight", .type = AS_INT },
	{ .name = "reason", .type = AS_STR },
	{ .name = "wait", .type = AS_BOOL, .default_json = "false" },
	{ .name = "wait_timeout", .type = AS_FLOAT, .default_json = "300" },
	{ .name = "force_after", .type = AS_FLOAT },
	{ .name = "min_enabled", .type = AS_INT, .default_json = "1" },
};

#define N_MODULE_OPTIONS (sizeof(module_options) / sizeof(module_options[0]))

static const enum as_type types[] = {
	[LBM_OPTION_SECONDS] = AS_FLOAT, [LBM_OPTION_STRING] = AS_STR, [LBM_OPTION_PATH] = AS_PATH,
	[LBM_OPTION_SECRET] = AS_STR,	 [LBM_OPTION_FLAG] = AS_BOOL,
};

/* A fallback that is a number ("5") is the option's default: Ansible then
 * shows and reports it. One in words ("$LBM_F5_USER") is only documented. */
static bool numeric(const char *fallback)
{
	json_t *v = fallback ? json_loads(fallback, JSON_DECODE_ANY, NULL) : NULL;
	bool yes = json_is_number(v);

	json_decref(v);
	return yes;
}

static bool taken(const struct spec *s, const char *name)
{
	for (size_t i = 0; name && i < s->n; i++)
		if (!strcmp(s->opts[i].name, name) || (s->opts[i].alias && !strcmp(s->opts[i].alias, name)))
			return true;
	return false;
}

/* The next entry of s for the table's option, not counted yet. */
static const struct as_option *open_option(struct spec *s, const struct lbm_option_info *info)
{
	struct as_option *a = &s->opts[s->n];
	struct open_option *o = &s->open[s->n_open];

	*a = (struct as_option){
		.name = info->name,
		.alias = info->alias,
		.type = types[info->type],
		.no_log = info->type == LBM_OPTION_SECRET,
		.default_json = numeric(info->fallback) ? info->fallback : NULL,
	};
	*o = (struct open_option){ .info = info, .spec = a };
	/* Every Ansible module that speaks TLS spells it validate_certs (bool,
	 * default true), and playbooks say that: the one name the module does
	 * not take from the table. */
	if (!strcmp(info->name, "insecure")) {
		a->name = "validate_certs";
		a->default_json = "true";
		o->inverted = true;
		o->description = "Verify the balancer's TLS certificate. Set to C(false) only for a device with a "
				 "self-signed certificate you cannot replace; prefer I(ca_file).";
	}
	return a;
}

int spec_build(struct spec *s, const char **why)
{
	const struct lbm_option_info *info;

	memcpy(s->opts, module_options, sizeof(module_options));
	s->n = N_MODULE_OPTIONS;
	s->n_open = 0;
	for (size_t i = 0; (info = lbm_option_info(i)); i++) {
		const struct as_option *a;

		if (s->n == SPEC_MAX) {
			*why = "the core has more options than lb_member has room for (SPEC_MAX)";
			return -1;
		}
		a = open_option(s, info);
		/* A new core option named like one of the module's would shadow it. */
		if (taken(s, a->name) || taken(s, a->alias)) {
			*why = "an option of the core has the name of another option of lb_member";
			return -1;
		}
		s->n++;
		s->n_open++;
	}
	return 0;
}

int spec_open_options(const struct spec *s, const json_t *params, struct lbm_options *opt, char *err, size_t errsz)
{
	for (size_t i = 0; i < s->n_open; i++) {
		const struct open_option *o = &s->open[i];
		const json_t *v = json_object_get(params, o->spec->name);
		char number[32];
		const char *text;
		int ret;

		if (!v || json_is_null(v))
			continue;
		if (json_is_boolean(v)) {
			text = json_is_true(v) != o->inverted ? "true" : "false";
		} else if (json_is_number(v)) {
			snprintf(number, sizeof(number), "%.17g", json_number_value(v));
			text = number;
		} else {
			text = json_string_value(v);
			/* Playbooks write `user: "{{ x | default('') }}"` to mean "not given". */
			if (!text || !*text)
				continue;
		}
		ret = lbm_option_parse(opt, o->info, text, err, errsz);
		if (ret < 0)
			return ret;
	}
	return 0;
}
