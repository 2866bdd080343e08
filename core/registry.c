// SPDX-License-Identifier: MIT
/* The drivers compiled in, and the options of struct lbm_options: the common
 * ones here, each driver's in its vtable. Every face offers options and
 * targets from these tables, so that help texts and names cannot drift. */
#define _POSIX_C_SOURCE 200809L

#include "core.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <threads.h>

extern const struct lbm_driver lbm_driver_haproxy;
extern const struct lbm_driver lbm_driver_lvs;
extern const struct lbm_driver lbm_driver_f5;
extern const struct lbm_driver lbm_driver_fake;

static const struct lbm_driver *const drivers[] = {
#ifdef LBM_WITH_LVS
	&lbm_driver_lvs,
#endif
#ifdef LBM_WITH_HAPROXY
	&lbm_driver_haproxy,
#endif
#ifdef LBM_WITH_F5
	&lbm_driver_f5,
#endif
#ifdef LBM_WITH_FAKE
	&lbm_driver_fake,
#endif
	NULL,
};

static const struct lbm_option_def common_options[] = {
	{ { .name = "timeout",
	    .type = LBM_OPTION_SECONDS,
	    .value = "SECONDS",
	    .help = "Bound on each exchange with the balancer.",
	    .fallback = "5" },
	  LBM_OPTION_AT(timeout_s) },
	{ { .name = "state_dir",
	    .type = LBM_OPTION_PATH,
	    .value = "DIR",
	    .help = "Where lbmember records who took members out of rotation, when and why, and what LVS must "
		    "restore (weights, removed real servers).",
	    .fallback = "$LBM_STATE_DIR, then /var/lib/lbmember" },
	  LBM_OPTION_AT(state_dir) },
	{ { 0 }, 0 },
};

const struct lbm_driver_info *lbm_driver_info(size_t i)
{
	return i < sizeof(drivers) / sizeof(drivers[0]) - 1 ? &drivers[i]->info : NULL;
}

const struct lbm_driver *lbm_driver_for(const char *scheme, size_t len)
{
	for (size_t i = 0; drivers[i]; i++)
		if (strlen(drivers[i]->info.scheme) == len && !strncmp(scheme, drivers[i]->info.scheme, len))
			return drivers[i];
	return NULL;
}

static char known[128];

static void list_schemes(void)
{
	for (size_t i = 0; drivers[i]; i++) {
		size_t len = strlen(known);

		snprintf(known + len, sizeof(known) - len, "%s%s://", len ? ", " : "", drivers[i]->info.scheme);
	}
}

static once_flag schemes_once = ONCE_FLAG_INIT;

const char *lbm_known_schemes(void)
{
	call_once(&schemes_once, list_schemes);
	return known;
}

/* ---- the option table: common, then each driver's, each name once ---- */

#define MAX_OPTIONS 32

static struct {
	const struct lbm_option_def *def[MAX_OPTIONS];
	struct lbm_option_info info[MAX_OPTIONS]; /* with schemes merged */
	char schemes[MAX_OPTIONS][64];
	size_t n;
} table;

static void add_option(const struct lbm_option_def *d, const char *scheme)
{
	size_t i;

	for (i = 0; i < table.n && strcmp(table.info[i].name, d->info.name); i++)
		;
	if (i == table.n) {
		if (table.n == MAX_OPTIONS)
			return;
		table.def[table.n] = d;
		table.info[table.n] = d->info;
		table.n++;
	}
	/* Several drivers may use one option: it names them all. */
	if (scheme) {
		size_t len = strlen(table.schemes[i]);

		snprintf(table.schemes[i] + len, sizeof(table.schemes[i]) - len, "%s%s", len ? " " : "", scheme);
		table.info[i].schemes = table.schemes[i];
	}
}

static void build_table(void)
{
	for (const struct lbm_option_def *d = common_options; d->info.name; d++)
		add_option(d, NULL);
	for (size_t k = 0; drivers[k]; k++)
		for (const struct lbm_option_def *d = drivers[k]->options; d && d->info.name; d++)
			add_option(d, drivers[k]->info.scheme);
}

static once_flag table_once = ONCE_FLAG_INIT;

const struct lbm_option_info *lbm_option_info(size_t i)
{
	call_once(&table_once, build_table);
	return i < table.n ? &table.info[i] : NULL;
}

const struct lbm_option_info *lbm_option_find(const char *name)
{
	const struct lbm_option_info *o;

	for (size_t i = 0; name && (o = lbm_option_info(i)); i++)
		if (!strcmp(o->name, name) || (o->alias && !strcmp(o->alias, name)))
			return o;
	return NULL;
}

static int flag_value(const char *text)
{
	static const char *const on[] = { "true", "yes", "on", "1" }, *const off[] = { "false", "no", "off", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (!strcasecmp(text, on[i]))
			return 1;
		if (!strcasecmp(text, off[i]))
			return 0;
	}
	return -1;
}

int lbm_option_parse(struct lbm_options *opt, const struct lbm_option_info *o, const char *text, char *err,
		     size_t errsz)
{
	size_t i;
	char *field, *end;
	double seconds;
	int flag;

	call_once(&table_once, build_table);
	/* Only an entry of the table says where its field is. */
	for (i = 0; i < table.n && o != &table.info[i]; i++)
		;
	if (i >= table.n || !text) {
		snprintf(err, errsz, "option %s: no value", o->name);
		return LBM_EINVAL;
	}
	field = (char *)opt + table.def[i]->offset;
	switch (o->type) {
	case LBM_OPTION_SECONDS:
		errno = 0;
		seconds = strtod(text, &end);
		if (errno || end == text || *end || !(seconds > 0) || isinf(seconds)) {
			snprintf(err, errsz, "%s expects a number of seconds above 0, got '%.64s'", o->name, text);
			return LBM_EINVAL;
		}
		*(double *)(void *)field = seconds;
		return 0;
	case LBM_OPTION_FLAG:
		flag = flag_value(text);
		if (flag < 0) {
			snprintf(err, errsz, "%s expects true or false, got '%.64s'", o->name, text);
			return LBM_EINVAL;
		}
		*(int *)(void *)field = flag;
		return 0;
	case LBM_OPTION_STRING:
	case LBM_OPTION_PATH:
	case LBM_OPTION_SECRET:
		if (!*text) {
			snprintf(err, errsz, "%s expects a %s, got an empty one", o->name,
				 o->type == LBM_OPTION_PATH ? "path" : "value");
			return LBM_EINVAL;
		}
		*(const char **)(void *)field = text;
		return 0;
	}
	snprintf(err, errsz, "option %s: unknown type", o->name);
	return LBM_EINVAL;
}
