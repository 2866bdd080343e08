// SPDX-License-Identifier: MIT
#include "lbm_help.h"

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
