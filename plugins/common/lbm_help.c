// SPDX-License-Identifier: MIT
#include "lbm_help.h"

#include <stdlib.h>
#include <string.h>

void lbm_help_wrap(FILE *f, const char *text, int indent, int at)
{
	int start = at;

	for (const char *p = text; *p;) {
		int len = (int)strcspn(p, " ");

		if (at > start && at + 1 + len > 79) {
			fprintf(f, "\n%*s", indent, "");
			at = start = indent;
		} else if (at > start) {
			fputc(' ', f);
			at++;
		}
		fprintf(f, "%.*s", len, p);
		at += len;
		p += len;
		while (*p == ' ')
			p++;
	}
	fputc('\n', f);
}

void lbm_help_dashed(char *out, size_t outsz, const char *name)
{
	snprintf(out, outsz, "%s", name);
	for (char *p = out; *p; p++)
		if (*p == '_')
			*p = '-';
}

void lbm_help_option(char *out, size_t outsz, const struct lbm_option_info *o)
{
	snprintf(out, outsz, "%s%s%s%s%s%s%s", o->schemes ? "(" : "", o->schemes ? o->schemes : "",
		 o->schemes ? ") " : "", o->help, o->fallback ? " Default: " : "", o->fallback ? o->fallback : "",
		 o->fallback ? "." : "");
}

#define NAME_MAX_LEN 32

struct option *lbm_help_getopt(const struct option *own, size_t n_own, bool (*offered)(const struct lbm_option_info *o),
			       int base, int alias_base)
{
	size_t n = n_own, k = n_own;
	const struct lbm_option_info *o;
	struct option *all;
	char *names;

	for (size_t i = 0; lbm_option_info(i); i++)
		n += 2;
	all = calloc(1, (n + 1) * sizeof(*all) + n * NAME_MAX_LEN);
	if (!all)
		return NULL;
	names = (char *)(all + n + 1);
	memcpy(all, own, n_own * sizeof(*own));
	for (size_t i = 0; (o = lbm_option_info(i)); i++) {
		int arg = o->type == LBM_OPTION_FLAG	 ? no_argument
			  : o->type == LBM_OPTION_SECRET ? optional_argument
							 : required_argument;

		if (offered && !offered(o))
			continue;
		lbm_help_dashed(names, NAME_MAX_LEN, o->name);
		all[k++] = (struct option){ names, arg, NULL, base + (int)i };
		names += NAME_MAX_LEN;
		if (alias_base && o->alias) {
			lbm_help_dashed(names, NAME_MAX_LEN, o->alias);
			all[k++] = (struct option){ names, arg, NULL, alias_base + (int)i };
			names += NAME_MAX_LEN;
		}
	}
	return all;
}
