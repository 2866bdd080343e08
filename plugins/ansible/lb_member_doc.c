// SPDX-License-Identifier: MIT
/* lb_member_doc TEMPLATE OUTPUT: writes the documentation stub lb_member.py
 * from lb_member.py.in, a line @LBM_OPEN_OPTIONS@ replaced by the YAML of
 * the options lb_member takes from the core's table (spec.c), and
 * @LBM_WEIGHT_MAX@ by LBM_WEIGHT_MAX. Run at build time, linked with the
 * core the module is, so that ansible-doc shows exactly what the binary
 * accepts. */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec.h"

static const char *const yaml_types[] = {
	[AS_STR] = "str",     [AS_PATH] = "path", [AS_INT] = "int",
	[AS_FLOAT] = "float", [AS_BOOL] = "bool", [AS_RAW] = "raw",
};

/* Where a description is folded: pep8 (ansible-test sanity) takes lines
 * of 160 characters at most. */
#define FOLD_AT 100

/* s as a YAML double-quoted scalar, folded at a space past FOLD_AT (a line
 * break in it reads as a space). The stub is a Python r''' string: a
 * quote after a quote is written \x27, so that ''' never ends it early. */
static void quoted(FILE *out, const char *s)
{
	int col = 8;

	fputc('"', out);
	for (const char *p = s; *p; p++, col++) {
		if (*p == ' ' && col > FOLD_AT) {
			fputs("\n        ", out);
			col = 8;
		} else if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p == '\'' && p > s && p[-1] == '\'')
			fputs("\\x27", out);
		else if ((unsigned char)*p < 0x20)
			fprintf(out, "\\x%02x", (unsigned char)*p);
		else
			fputc(*p, out);
	}
	fputc('"', out);
}

static void item(FILE *out, const char *s)
{
	fputs("      - ", out);
	quoted(out, s);
	fputc('\n', out);
}

/* "Only for C(f5://) targets.", "Only for C(lvs://) and C(f5://) targets."
 * (scheme names need no quoting) */
static void schemes_item(FILE *out, const char *schemes)
{
	fputs("      - \"Only for", out);
	for (const char *p = schemes; *p; p += strspn(p, " ")) {
		size_t n = strcspn(p, " ");

		fprintf(out, "%s C(%.*s://)", p == schemes ? "" : " and", (int)n, p);
		p += n;
	}
	fputs(" targets.\"\n", out);
}

static void option(FILE *out, const struct open_option *o)
{
	const struct lbm_option_info *info = o->info;
	char text[512];

	fprintf(out, "  %s:\n    description:\n", o->spec->name);
	item(out, o->description ? o->description : info->help);
	if (info->type == LBM_OPTION_SECONDS)
		item(out, "In seconds.");
	/* A numeric fallback is the default, which ansible-doc shows itself. */
	if (info->fallback && !o->spec->default_json) {
		snprintf(text, sizeof(text), "Defaults to %s.", info->fallback);
		item(out, text);
	}
	if (info->schemes)
		schemes_item(out, info->schemes);
	if (o->spec->no_log)
		item(out, "Never shown in the result (C(no_log)).");
	fprintf(out, "    type: %s\n", yaml_types[o->spec->type]);
	if (o->spec->alias)
		fprintf(out, "    aliases: [%s]\n", o->spec->alias);
	if (o->spec->default_json)
		fprintf(out, "    default: %s\n", o->spec->default_json);
}

/* line with every @LBM_WEIGHT_MAX@ replaced */
static void copy_line(FILE *out, const char *line)
{
	static const char token[] = "@LBM_WEIGHT_MAX@";
	const char *hit;

	while ((hit = strstr(line, token))) {
		fprintf(out, "%.*s%d", (int)(hit - line), line, LBM_WEIGHT_MAX);
		line = hit + strlen(token);
	}
	fputs(line, out);
}

static int generate(FILE *in, FILE *out, const struct spec *s)
{
	char *line = NULL;
	size_t size = 0;
	int found = 0;

	while (getline(&line, &size, in) > 0) {
		if (strcmp(line, "@LBM_OPEN_OPTIONS@\n")) {
			copy_line(out, line);
			continue;
		}
		for (size_t i = 0; i < s->n_open; i++)
			option(out, &s->open[i]);
		found++;
	}
	free(line);
	return ferror(in) || found != 1 ? -1 : 0;
}

int main(int argc, char **argv)
{
	struct spec s;
	const char *why;
	char tmp[4096];
	FILE *in, *out;
	int ret;

	if (argc != 3) {
		fprintf(stderr, "usage: lb_member_doc TEMPLATE OUTPUT\n");
		return 2;
	}
	if (spec_build(&s, &why) < 0) {
		fprintf(stderr, "lb_member_doc: %s\n", why);
		return 1;
	}
	/* Written aside, then renamed: a failed run leaves no half stub that
	 * make would take for up to date. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", argv[2]);
	in = fopen(argv[1], "r");
	out = in ? fopen(tmp, "w") : NULL;
	if (!in || !out) {
		fprintf(stderr, "lb_member_doc: cannot open %s\n", in ? tmp : argv[1]);
		if (in)
			fclose(in);
		return 1;
	}
	ret = generate(in, out, &s);
	fclose(in);
	if (fclose(out) != 0 || ret < 0 || rename(tmp, argv[2]) < 0) {
		fprintf(stderr, "lb_member_doc: cannot write %s from %s (it needs one line @LBM_OPEN_OPTIONS@)\n",
			argv[2], argv[1]);
		remove(tmp);
		return 1;
	}
	return 0;
}
