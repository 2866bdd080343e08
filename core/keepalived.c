// SPDX-License-Identifier: MIT
/* keepalived's configuration as keepalived 2.2 (Debian 12 ships 2.2.7) reads
 * it, asked about one IPVS service and one real server. Each rule below is
 * keepalived's own, from its v2.2.7 sources: lib/parser.c (lines, comments,
 * braces, includes, $NAME and @ID), keepalived/check/check_parser.c and
 * check_data.c (virtual servers, groups, real servers), check_file.c and
 * trackers/track_file.c (FILE_CHECK, track_file), ipvswrapper.c (what it puts
 * in the kernel's table).
 *
 * keepalived reads ONE keyword per line: '{' and '}' are cut off into lines
 * of their own, the rest of a line is the keyword's parameters, so in
 * "FILE_CHECK { track_file T weight -65535 }" the weight is a parameter of
 * track_file, which ignores it.
 *
 * Where keepalived's own reading is not followed (each said again where it
 * happens): the -f file is read as a path, not a glob(3) pattern; ~SEQ and
 * ~LST lines are dropped, not repeated; @ID lines are judged against the
 * host name cut at its first '.', keepalived's instance name without -i;
 * ${_RANDOM} is its minimum; a configuration error that makes keepalived exit
 * (a keyword without its parameter) is read past; checkers are kept unless
 * their own block says keepalived drops them (HTTP_GET without a url path,
 * MISC_CHECK without misc_path, BFD_CHECK without one name, FILE_CHECK without
 * a known track_file). keepalived has no guard against an include of itself
 * (it recurses until it runs out of files) nor against $A=$A (it loops):
 * here a file already being read is not included again, includes nest 8
 * deep, and expansion is bounded (substitutions in a line, lines from
 * multiline definitions, and the bytes substitutions rewrite in all: past
 * that, lines are read as they are).
 *
 * The parser reads from a struct ka_io, so that it can be fed from memory
 * (a fuzzer #includes this file): lbm_ka_lookup() gives it the file system. */
#define _GNU_SOURCE

#include "keepalived.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#define KA_MAXBUF 1024		   /* keepalived's MAXBUF: fgets() cuts a longer line in pieces */
#define KA_DEPTH 8		   /* includes within includes */
#define KA_FILES 256		   /* files read in all */
#define KA_FILE_MAX (16u << 20)	   /* bytes in one file */
#define KA_BYTES (64u << 20)	   /* bytes in all files */
#define KA_SUBST 64		   /* substitutions in one line */
#define KA_SUBST_WORK (256u << 20) /* bytes of lines rewritten by substitutions, in all */
#define KA_RECHECK 8		   /* rounds of @ID and $NAME on one line */
#define KA_CONT 8		   /* multiline definitions expanding within each other */
#define KA_EXPANDED 100000u	   /* lines from multiline definitions in all */
#define KA_DEFS 1024		   /* $NAME definitions */
#define KA_DEF_MAX (64u << 10)	   /* bytes in one definition */
#define KA_WS " \t\f\n\r\v"	   /* lib/parser.c WHITE_SPACE_STR */
#define KA_WEIGHT_MAX 2147483647   /* IPVS_WEIGHT_LIMIT */

/* ---- what the parser reads from ---- */

enum {
	KA_ENOTREG = -1, /* the read() callback's errors besides errno values */
	KA_EEXEC = -2,
	KA_EBIG = -3,
};

struct ka_io {
	void *ctx;
	/* The paths pattern matches, as keepalived's glob(GLOB_MARK |
	 * GLOB_BRACE) sorts them, directories left out: a NULL-terminated
	 * malloc()ed vector of malloc()ed strings in *paths (NULL: none).
	 * -1 when memory ran out. */
	int (*glob)(void *ctx, const char *pattern, char ***paths);
	/* The malloc()ed text of path (NUL-terminated, *len bytes before it)
	 * and what tells it from another file; 0, ENOMEM, or why keepalived
	 * would not read it (an errno value, KA_ENOTREG, KA_EEXEC, KA_EBIG). */
	int (*read)(void *ctx, const char *path, char **text, size_t *len, unsigned long long id[2]);
};

/* ---- the text, line by line, as lib/parser.c read_line() hands it out ---- */

struct ka_file {
	char **paths; /* what its include matched: read one after the other */
	size_t next;
	const char *path; /* the one being read (in the reader's names) */
	char *dir;	  /* where keepalived chdir()s for it */
	unsigned long long id[2];
	char *text;
	size_t len, pos;
	unsigned line, piece_line;
};

enum ka_std {
	KA_USER,
	KA_PWD,
	KA_INSTANCE,
	KA_RANDOM,
};

struct ka_def {
	char *name, *value;
	size_t name_len, value_len;
	bool multiline;
	enum ka_std std;
};

struct ka_cont {
	char *text; /* what is left of a multiline definition being expanded */
	size_t pos;
};

struct ka_reader {
	const struct ka_io *io;
	const char *instance;
	struct ka_file *stack[KA_DEPTH + 1];
	size_t depth, files, bytes;
	char *names[KA_FILES]; /* of the files read, kept to the end for file below */
	struct ka_def *defs;
	size_t ndefs, defs_cap;
	struct ka_def spare;	 /* a definition with no room left: read, not kept */
	struct ka_def *defining; /* the multiline definition lines are added to */
	struct ka_cont cont[KA_CONT];
	size_t ncont;
	unsigned long expanded;
	size_t subst_work;
	bool has_residue, pushed, oom;
	char residue[KA_MAXBUF];
	char buf[KA_MAXBUF];
	const char *file; /* where buf comes from */
	unsigned line;
	char store[2 * KA_MAXBUF];
	char *tok[KA_MAXBUF];
	size_t ntok;
};

static int ka_u(char c)
{
	return (unsigned char)c;
}

static char *ka_dup(struct ka_reader *r, const char *s, size_t len)
{
	char *d = malloc(len + 1);

	if (!d) {
		r->oom = true;
		return NULL;
	}
	memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

static bool ka_grow(struct ka_reader *r, void **v, size_t *cap, size_t n, size_t size)
{
	void *bigger;
	size_t want = *cap ? *cap * 2 : 8;

	if (n < *cap)
		return true;
	bigger = realloc(*v, want * size);
	if (!bigger) {
		r->oom = true;
		return false;
	}
	*v = bigger;
	*cap = want;
	return true;
}

/* decomment(): the comment ('#' or '!' outside "") cut off, "\#" and "\!"
 * unescaped outside "", blanks trimmed; a last '\' stays. */
static void ka_decomment(char *str)
{
	bool quote = false, cont = false;
	char *skip = NULL, *p = str + strspn(str, " \t");
	size_t len;

	if (p != str)
		memmove(str, p, strlen(p) + 1);
	for (p = str; (p = strpbrk(p, "!#\"\\"));) {
		if (*p == '"') {
			if (!skip)
				quote = !quote;
			p++;
			continue;
		}
		if (*p == '\\') {
			if (!p[1]) {
				*p = '\0';
				cont = true;
				break;
			}
			if (!quote && (p[1] == '#' || p[1] == '!')) {
				memmove(p, p + 1, strlen(p + 1) + 1);
				p++;
			} else {
				p += 2;
			}
			continue;
		}
		if (!quote && !skip)
			skip = p;
		p++;
	}
	if (skip)
		*skip = '\0';
	len = strlen(str);
	while (len && (str[len - 1] == ' ' || str[len - 1] == '\t'))
		str[--len] = '\0';
	if (cont) {
		str[len++] = '\\';
		str[len] = '\0';
	}
}

static bool ka_is_include(const char *b)
{
	if (strncmp(b, "include", 7) || !b[7])
		return false;
	if (isspace(ka_u(b[7])))
		return true;
	return isspace(ka_u(b[8])) && strchr("rmwba", b[7]);
}

static struct ka_file *ka_top(struct ka_reader *r)
{
	return r->depth ? r->stack[r->depth - 1] : NULL;
}

static void ka_file_free(struct ka_file *f)
{
	if (!f)
		return;
	for (size_t i = 0; f->paths && f->paths[i]; i++)
		free(f->paths[i]);
	free(f->paths);
	free(f->dir);
	free(f->text);
	free(f);
}

/* Where keepalived chdir()s to read path: its directory, if it names one. */
static char *ka_dirname(struct ka_reader *r, const char *path, const char *from)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return ka_dup(r, from, strlen(from));
	return ka_dup(r, path, slash == path ? 1 : (size_t)(slash - path));
}

static bool ka_open_next(struct ka_reader *r, struct ka_file *f, const char *from)
{
	while (f->paths && f->paths[f->next]) {
		char *path = f->paths[f->next++], *text = NULL, *name;
		size_t len = 0;
		unsigned long long id[2] = { 0, 0 };
		bool loop = false;
		int e;

		if (r->files == KA_FILES || r->bytes >= KA_BYTES)
			return false;
		e = r->io->read(r->io->ctx, path, &text, &len, id);
		if (e == ENOMEM)
			r->oom = true;
		if (e)
			continue; /* open_conf_file(): "open problem - skipping" */
		for (size_t i = 0; i < r->depth; i++)
			loop |= r->stack[i]->id[0] == id[0] && r->stack[i]->id[1] == id[1];
		if (loop || len > KA_BYTES - r->bytes) {
			free(text);
			continue;
		}
		free(f->text);
		free(f->dir);
		f->text = NULL;
		f->dir = ka_dirname(r, path, from);
		name = f->dir ? ka_dup(r, path, strlen(path)) : NULL;
		if (!name) {
			free(text);
			return false;
		}
		f->path = r->names[r->files++] = name;
		r->bytes += len;
		f->text = text;
		f->len = len;
		f->pos = 0;
		f->line = 1;
		memcpy(f->id, id, sizeof(f->id));
		return true;
	}
	return false;
}

/* pattern made relative to dir, glob(3)'s special characters in dir escaped. */
static char *ka_pattern(struct ka_reader *r, const char *dir, const char *pattern)
{
	size_t dl = strlen(dir), pl = strlen(pattern), n = 0;
	char *full;

	if (pattern[0] == '/')
		return ka_dup(r, pattern, pl);
	full = malloc(2 * dl + pl + 2);
	if (!full) {
		r->oom = true;
		return NULL;
	}
	for (size_t i = 0; i < dl; i++) {
		if (strchr("\\*?[]{}", dir[i]))
			full[n++] = '\\';
		full[n++] = dir[i];
	}
	if (!n || full[n - 1] != '/')
		full[n++] = '/';
	memcpy(full + n, pattern, pl + 1);
	return full;
}

/* check_include(): "include", or includer/m/w/b/a (which differ only in
 * what keepalived reports), then a glob(3) pattern, relative to the
 * directory of the file that has it. What cannot be read is skipped, as
 * keepalived logs and skips it. */
static void ka_include(struct ka_reader *r, const char *pattern)
{
	struct ka_file *f, *cur = ka_top(r);
	char *full;

	if (!r->io || !cur || r->depth > KA_DEPTH)
		return;
	full = ka_pattern(r, cur->dir, pattern);
	f = full ? calloc(1, sizeof(*f)) : NULL;
	if (!f) {
		r->oom = true;
		free(full);
		return;
	}
	if (r->io->glob(r->io->ctx, full, &f->paths) < 0)
		r->oom = true;
	free(full);
	if (!ka_open_next(r, f, cur->dir)) {
		ka_file_free(f);
		return;
	}
	r->stack[r->depth++] = f;
}

/* get_next_file(): the next file the include matched, or back to the one
 * that included it. */
static void ka_end_file(struct ka_reader *r)
{
	struct ka_file *f = ka_top(r);
	const char *from = r->depth > 1 ? r->stack[r->depth - 2]->dir : f->dir;

	if (r->depth > 1 && ka_open_next(r, f, from))
		return;
	r->depth--;
	ka_file_free(f);
}

/* One piece of the current file as fgets(buf, MAXBUF) reads it. */
static bool ka_piece(struct ka_file *f, char *buf)
{
	size_t n = 0;

	if (f->pos >= f->len)
		return false;
	f->piece_line = f->line;
	while (f->pos < f->len && n < KA_MAXBUF - 1) {
		char c = f->text[f->pos++];

		buf[n++] = c;
		if (c == '\n') {
			f->line++;
			break;
		}
	}
	buf[n] = '\0';
	return true;
}

/* The next line of the files: -1 at the end of them all, 0 an empty line,
 * 1 a line in r->buf. keepalived's checker process does not read the files:
 * it reads the copy its parent wrote of them, each line decommented, an
 * include line left empty and the file it includes put in its place. So a
 * line is decommented twice, and a line empty in the copy (a comment, an
 * include) ends a multiline definition. */
static int ka_file_line(struct ka_reader *r, bool *raw_include)
{
	struct ka_file *f;

	while ((f = ka_top(r))) {
		size_t len;

		if (!ka_piece(f, r->buf)) {
			ka_end_file(r);
			continue;
		}
		r->file = f->path;
		r->line = f->piece_line;
		len = strlen(r->buf);
		while (len && (r->buf[len - 1] == '\n' || r->buf[len - 1] == '\r'))
			r->buf[--len] = '\0';
		if (!len)
			return 0;
		ka_decomment(r->buf);
		if (!r->buf[0])
			return 0;
		*raw_include = ka_is_include(r->buf);
		if (*raw_include)
			return 1;
		ka_decomment(r->buf);
		if (r->buf[0])
			return 1;
	}
	return -1;
}

static void ka_take_cont(struct ka_reader *r)
{
	struct ka_cont *c = &r->cont[r->ncont - 1];
	const char *s = c->text + c->pos, *end = strchr(s, '\n');
	size_t n = end ? (size_t)(end - s) : strlen(s);

	if (n >= KA_MAXBUF)
		n = KA_MAXBUF - 1;
	memcpy(r->buf, s, n);
	r->buf[n] = '\0';
	if (end) {
		c->pos = (size_t)(end - c->text) + 1;
	} else {
		free(c->text);
		r->ncont--;
	}
	if (++r->expanded > KA_EXPANDED) {
		while (r->ncont)
			free(r->cont[--r->ncont].text);
	}
}

static void ka_push_cont(struct ka_reader *r, const char *text)
{
	char *copy;

	if (r->ncont == KA_CONT || r->expanded >= KA_EXPANDED)
		return;
	copy = ka_dup(r, text, strlen(text));
	if (copy)
		r->cont[r->ncont++] = (struct ka_cont){ .text = copy };
}

static void ka_end_definition(struct ka_reader *r)
{
	if (!r->defining)
		return;
	if (!r->defining->value_len)
		r->defining->multiline = false;
	r->defining = NULL;
}

static void ka_def_append(struct ka_reader *r, struct ka_def *d, const char *s, size_t len)
{
	char *bigger;

	if (d->value_len + len > KA_DEF_MAX)
		return;
	bigger = realloc(d->value, d->value_len + len + 1);
	if (!bigger) {
		r->oom = true;
		return;
	}
	memcpy(bigger + d->value_len, s, len);
	d->value_len += len;
	bigger[d->value_len] = '\0';
	d->value = bigger;
}

/* A line of a multiline definition: those ending in '\' go on. */
static void ka_define_more(struct ka_reader *r, size_t len)
{
	struct ka_def *d = r->defining;
	char *buf = r->buf;

	if (len && buf[len - 1] == '\\') {
		len--;
		while (len && (buf[len - 1] == ' ' || buf[len - 1] == '\t'))
			len--;
		buf[len++] = '\n';
	} else {
		ka_end_definition(r);
	}
	if (len >= 2 || (len && !r->defining))
		ka_def_append(r, d, buf, len);
}

/* The definition of NAME, made if need be; the spare when there is no room. */
static struct ka_def *ka_def_add(struct ka_reader *r, const char *name, size_t name_len)
{
	struct ka_def *d;

	for (size_t i = 0; i < r->ndefs; i++) {
		d = &r->defs[i];
		if (d->name_len == name_len && !strncmp(d->name, name, name_len))
			return d;
	}
	if (r->ndefs == KA_DEFS || !ka_grow(r, (void **)&r->defs, &r->defs_cap, r->ndefs, sizeof(*r->defs)))
		return &r->spare;
	d = &r->defs[r->ndefs];
	*d = (struct ka_def){ .name = ka_dup(r, name, name_len), .name_len = name_len };
	if (!d->name)
		return &r->spare;
	r->ndefs++;
	return d;
}

/* check_definition(): "$NAME=VALUE", no blank before '='; a VALUE ending
 * in '\' goes on over the next lines. */
static bool ka_definition(struct ka_reader *r)
{
	const char *buf = r->buf, *p;
	size_t value_len;
	bool multiline;
	struct ka_def *d;

	if (!isalpha(ka_u(buf[1])) && buf[1] != '_')
		return false;
	for (p = buf + 2; *p && *p != '='; p++) {
		if (!isalnum(ka_u(*p)) && *p != '_')
			return false;
	}
	if (*p != '=')
		return false;
	d = ka_def_add(r, buf + 1, (size_t)(p - buf - 1));
	p++;
	p += strspn(p, " \t");
	value_len = strlen(p);
	multiline = value_len && p[value_len - 1] == '\\';
	if (multiline) {
		while (value_len >= 2 && (p[value_len - 2] == ' ' || p[value_len - 2] == '\t'))
			value_len--;
		if (value_len < 2)
			value_len = 0;
	}
	free(d->value);
	d->value = ka_dup(r, p, value_len);
	d->value_len = d->value ? value_len : 0;
	if (d->value && multiline && value_len)
		d->value[value_len - 1] = '\n';
	d->multiline = multiline;
	d->std = KA_USER;
	if (multiline)
		r->defining = d;
	return true;
}

struct ka_ref {
	const struct ka_def *def;
	size_t span; /* of "$NAME" or "${NAME...}" */
	unsigned long min;
};

/* find_definition(): "$NAME" followed by a blank, ',', ')' or the end, or
 * "${NAME}"; only ${_RANDOM MIN MAX} takes parameters; a multiline
 * definition only where the reference ends the line. */
static bool ka_find_ref(const struct ka_reader *r, const char *dollar, struct ka_ref *ref)
{
	const char *name = dollar + 1, *q, *param_start = NULL, *param_end = NULL;
	bool braces = *name == '{', multiline;
	size_t len = 1;

	name += braces;
	if (!isalpha(ka_u(*name)) && *name != '_')
		return false;
	for (q = name + 1; *q && (isalnum(ka_u(*q)) || *q == '_'); q++)
		len++;
	if (braces) {
		for (; *q == ' ' || isdigit(ka_u(*q)); q++) {
			if (*q != ' ') {
				param_start = param_start ? param_start : q;
				param_end = q;
			}
		}
		if ((param_start && param_end + 1 != q) || *q != '}')
			return false;
	} else if (*q && *q != ' ' && *q != '\t' && *q != ',' && *q != ')') {
		return false;
	}
	multiline = braces ? !name[len + 1] : !name[len];
	for (size_t i = 0; i < r->ndefs; i++) {
		const struct ka_def *d = &r->defs[i];

		if (d->name_len != len || (d->multiline && !multiline) || strncmp(d->name, name, len))
			continue;
		if (param_start && d->std != KA_RANDOM)
			return false;
		ref->def = d;
		ref->span = braces ? (size_t)(q + 1 - dollar) : len + 1;
		ref->min = param_start ? strtoul(param_start, NULL, 10) : 0;
		return true;
	}
	return false;
}

/* replace_param(): each reference replaced, the text put in its place read
 * again for more; false when nothing was, or the line would grow past
 * MAXBUF (keepalived then stops there). */
static bool ka_replace(struct ka_reader *r)
{
	char *cur = r->buf, number[24];
	size_t used = strlen(r->buf);
	bool found = false;
	unsigned n = 0;

	while ((cur = strchr(cur, '$')) && cur[1] && n < KA_SUBST && r->subst_work < KA_SUBST_WORK) {
		struct ka_ref ref;
		const char *val;
		size_t vlen;
		struct ka_file *f = ka_top(r);

		if (!ka_find_ref(r, cur, &ref)) {
			cur++;
			continue;
		}
		n++;
		found = true;
		switch (ref.def->std) {
		case KA_PWD: val = f ? f->dir : "."; break;
		case KA_INSTANCE: val = r->instance ? r->instance : ""; break;
		case KA_RANDOM:
			snprintf(number, sizeof(number), "%lu", ref.min);
			val = number;
			break;
		default: val = ref.def->value ? ref.def->value : ""; break;
		}
		vlen = ref.def->multiline ? strcspn(val, "\n") : strlen(val);
		if (used - ref.span + vlen >= KA_MAXBUF)
			return false;
		memmove(cur + vlen, cur + ref.span, used - (size_t)(cur - r->buf) - ref.span + 1);
		r->subst_work += used;
		memcpy(cur, val, vlen);
		used = used - ref.span + vlen;
		if (ref.def->multiline && val[vlen] == '\n')
			ka_push_cont(r, val + vlen + 1);
		if (val[strspn(val, " \t")] == '~')
			break;
	}
	return found;
}

/* "@ID line" is read only where keepalived's instance is ID, "@^ID line"
 * only where it is not. False: the line is dropped. */
static bool ka_conditional(struct ka_reader *r)
{
	bool rev = r->buf[1] == '^', match;
	char *id = r->buf + 1 + rev, *start = strpbrk(id, " \t");
	size_t len = r->instance ? strlen(r->instance) : 0;

	if (!start)
		return false;
	match = r->instance && (size_t)(start - id) == len && !strncmp(id, r->instance, len);
	if (match == rev)
		return false;
	start += strspn(start, " \t");
	memmove(r->buf, start, strlen(start) + 1);
	return true;
}

/* What read_line() does to a line before the parser sees it. False: nothing
 * is left of it. */
static bool ka_expand(struct ka_reader *r)
{
	for (unsigned round = 0; round < KA_RECHECK; round++) {
		if (r->buf[0] == '@' && !ka_conditional(r))
			return false;
		if (r->buf[0] == '$' && ka_definition(r))
			return false;
		/* Not repeated here: what ~SEQ and ~LST would generate is not seen. */
		if (!strncmp(r->buf, "~SEQ", 4) || !strncmp(r->buf, "~LST", 4))
			return false;
		if (r->buf[0] == '~' || !strchr(r->buf, '$') || !ka_replace(r))
			break;
		ka_decomment(r->buf);
		if (r->buf[0] != '@' && !strchr(r->buf, '$'))
			break;
	}
	return r->buf[0] != '\0';
}

/* A '{' or '}' (outside "") ends the line before it and starts a line of
 * its own; what follows it is the next line. */
static void ka_split_braces(struct ka_reader *r)
{
	char *buf = r->buf, *p = buf;
	size_t len;

	if (*p != '{' && *p != '}') {
		while ((p = strpbrk(p, "{}\"")) && *p == '"') {
			if (!(p = strchr(p + 1, '"')))
				break;
			p++;
		}
	}
	if (p && (*p == '{' || *p == '}')) {
		size_t skip = p == buf ? strspn(p + 1, " \t") + 1 : 0;

		if (p[skip]) {
			len = strlen(p + skip);
			while (len && (p[skip + len - 1] == ' ' || p[skip + len - 1] == '\t'))
				len--;
			memcpy(r->residue, p + skip, len);
			r->residue[len] = '\0';
			r->has_residue = true;
			p[skip] = '\0';
		}
	}
	len = strlen(buf);
	while (len && (buf[len - 1] == ' ' || buf[len - 1] == '\t'))
		buf[--len] = '\0';
}

static bool ka_read_line(struct ka_reader *r)
{
	for (;;) {
		bool raw_include = false;
		size_t len;

		if (r->has_residue) {
			memcpy(r->buf, r->residue, strlen(r->residue) + 1);
			r->has_residue = false;
		} else if (r->ncont) {
			ka_take_cont(r);
		} else {
			int got = ka_file_line(r, &raw_include);

			if (got < 0)
				return false;
			if (!got || (raw_include && r->defining)) {
				ka_end_definition(r);
				continue;
			}
		}
		len = strlen(r->buf);
		if (r->defining) {
			ka_define_more(r, len);
			continue;
		}
		if (!len || !ka_expand(r))
			continue;
		if (ka_is_include(r->buf)) {
			const char *p = r->buf + (isspace(ka_u(r->buf[7])) ? 8 : 9);

			ka_include(r, p + strspn(p, " \t"));
			continue;
		}
		ka_split_braces(r);
		return true;
	}
}

/* alloc_strvec_r(): words split at blanks and '"'; "..." is one word. */
static size_t ka_tokenize(struct ka_reader *r)
{
	const char *cp = r->buf;
	char *out = r->store;

	r->ntok = 0;
	for (;;) {
		const char *start;
		size_t n;

		cp += strspn(cp, KA_WS);
		if (!*cp || r->ntok == KA_MAXBUF)
			break;
		start = cp;
		if (*start == '"') {
			start++;
			if (!(cp = strchr(start, '"')))
				break;
			n = (size_t)(cp - start);
			cp++;
		} else {
			n = strcspn(start, KA_WS "\"");
			cp = start + n;
		}
		memcpy(out, start, n);
		out[n] = '\0';
		r->tok[r->ntok++] = out;
		out += n + 1;
	}
	return r->ntok;
}

static void ka_reader_free(struct ka_reader *r)
{
	while (r->depth)
		ka_file_free(r->stack[--r->depth]);
	for (size_t i = 0; i < r->files; i++)
		free(r->names[i]);
	for (size_t i = 0; i < r->ndefs; i++) {
		free(r->defs[i].name);
		free(r->defs[i].value);
	}
	free(r->defs);
	free(r->spare.value);
	while (r->ncont)
		free(r->cont[--r->ncont].text);
}

/* set_std_definitions() */
static void ka_std_defs(struct ka_reader *r)
{
	static const struct {
		const char *name, *value;
		enum ka_std std;
	} std[] = {
		{ "_PWD", NULL, KA_PWD },  { "_INSTANCE", NULL, KA_INSTANCE }, { "_RANDOM", NULL, KA_RANDOM },
		{ "_HASH", "#", KA_USER }, { "_BANG", "!", KA_USER },
	};

	for (size_t i = 0; i < sizeof(std) / sizeof(std[0]); i++) {
		struct ka_def *d = ka_def_add(r, std[i].name, strlen(std[i].name));

		if (d == &r->spare)
			return;
		d->std = std[i].std;
		if (std[i].value) {
			d->value = ka_dup(r, std[i].value, 1);
			d->value_len = d->value ? 1 : 0;
		}
	}
}

/* ---- the keywords, as the checker process reads them ---- */

enum ka_fwd {
	KA_FWD_UNSET = -1,
	KA_FWD_NAT,
	KA_FWD_DR,
	KA_FWD_TUN,
};

struct ka_track { /* a track_file block keepalived keeps */
	char *name, *path;
	int weight;
	bool reverse;
};

struct ka_fc { /* a FILE_CHECK with its track_file */
	size_t track;
	int weight;
	bool weighted, reverse;
};

struct ka_rs {
	int af;
	unsigned char addr[16];
	unsigned port; /* as written, 0 without */
	int fwd;
	long long weight; /* -1: the virtual server's */
	int inhibit;	  /* -1: the virtual server's */
	unsigned checkers;
	struct ka_fc *fc;
	size_t nfc, fc_cap;
	const char *conf; /* in the reader's names; NULL: not the address asked about */
	unsigned line;
};

enum ka_vs_kind {
	KA_VS_ADDR,
	KA_VS_FWMARK,
	KA_VS_GROUP,
};

struct ka_vs {
	enum ka_vs_kind kind;
	int af;
	unsigned char addr[16];
	unsigned port, fwmark, protocol;
	char *group;
	int fwd;
	long long weight;
	bool inhibit;
	bool sorry;
	int sorry_af, sorry_fwd;
	size_t kept;	    /* its real servers keepalived keeps */
	int rs_af;	    /* the family of the first */
	unsigned rs_fams;   /* and of them all (bit 0 IPv4, bit 1 IPv6) */
	struct ka_rs *cand; /* those with the address asked about */
	size_t ncand, cand_cap;
	const char *conf;
	unsigned line;
	size_t seq;
};

struct ka_vsg { /* a virtual_server_group, judged against the service asked about */
	char *name;
	bool have4, have6, nofam, has_addr, has_fwmark;
	bool addr_hit;	  /* an address entry is the service (its protocol aside) */
	unsigned fwm_hit; /* families of fwmark entries with its mark: bit 0 none, 1 IPv4, 2 IPv6 */
};

struct ka_hit {
	bool set;
	size_t seq;
	struct lbm_ka_real r;
};

struct ka_query {
	const struct lbm_ka_service *svc;
	int af;
	const unsigned char *addr;
	unsigned port;
};

struct ka_parse {
	struct ka_reader r;
	struct ka_query q;
	struct ka_track *tracks;
	size_t ntracks, tracks_cap;
	struct ka_vsg *vsgs;
	size_t nvsgs, vsgs_cap;
	struct ka_vs *groups; /* virtual_server group NAME: judged at the end, the group may come later */
	size_t ngroups, groups_cap;
	size_t seq;
	struct ka_hit managed, service;
};

static const char *ka_tok(const struct ka_parse *p, size_t i)
{
	return i < p->r.ntok ? p->r.tok[i] : NULL;
}

static bool ka_is(const struct ka_parse *p, const char *word)
{
	return !strcmp(p->r.tok[0], word);
}

/* The next line that has words. */
static bool ka_next(struct ka_parse *p)
{
	if (p->r.pushed) {
		p->r.pushed = false;
		return true;
	}
	while (ka_read_line(&p->r)) {
		if (ka_tokenize(&p->r))
			return true;
	}
	return false;
}

/* process_stream(sub, need_bob): a block's '{' is taken if it is there;
 * keepalived reads the block without it too. */
static void ka_open_block(struct ka_parse *p)
{
	if (ka_next(p) && !ka_is(p, "{"))
		p->r.pushed = true;
}

/* The next line inside a block: false at its '}' or the end of the files.
 * A '{' where none is expected is ignored. */
static bool ka_in_block(struct ka_parse *p)
{
	while (ka_next(p)) {
		if (ka_is(p, "}"))
			return false;
		if (!ka_is(p, "{"))
			return true;
	}
	return false;
}

/* skip_sublevel: a block this process does not read, nested blocks and all,
 * when the next line opens it. */
static void ka_skip_block(struct ka_parse *p)
{
	size_t depth = 1;

	if (!ka_next(p))
		return;
	if (!ka_is(p, "{")) {
		p->r.pushed = true;
		return;
	}
	while (depth && ka_next(p)) {
		for (size_t i = 0; i < p->r.ntok && depth; i++) {
			if (!strcmp(p->r.tok[i], "{"))
				depth++;
			else if (!strcmp(p->r.tok[i], "}"))
				depth--;
		}
	}
}

static char *ka_pdup(struct ka_parse *p, const char *s)
{
	return ka_dup(&p->r, s, strlen(s));
}

/* read_unsigned_func() with ignore_error, keepalived's default build: junk
 * after the number is only warned about, a number in range is taken. */
static bool ka_unsigned(const char *s, unsigned long min, unsigned long max, bool lenient, unsigned long *res)
{
	const char *d = s + strspn(s, KA_WS);
	char *end;
	unsigned long v;
	bool clean;

	errno = 0;
	v = strtoul(d, &end, 10);
	clean = *d != '-' && !*end && errno != ERANGE;
	if (v < min || v > max || (!clean && !lenient))
		return false;
	*res = v;
	return true;
}

/* read_int_func() likewise. */
static bool ka_int(const char *s, long min, long max, bool lenient, int *res)
{
	char *end;
	long v;
	bool clean;

	errno = 0;
	v = strtol(s, &end, 10);
	clean = !*end && errno != ERANGE;
	if (v < min || v > max || (!clean && !lenient))
		return false;
	*res = (int)v;
	return true;
}

/* check_true_false() */
static int ka_bool(const char *s)
{
	if (!strcmp(s, "true") || !strcmp(s, "on") || !strcmp(s, "yes"))
		return 1;
	if (!strcmp(s, "false") || !strcmp(s, "off") || !strcmp(s, "no"))
		return 0;
	return -1;
}

static size_t ka_alen(int af)
{
	return af == AF_INET6 ? 16 : 4;
}

/* inet_stosockaddr(): the family from a ':', a range ("-...") or mask
 * ("/...") cut off, no [brackets]; a port of zeros is none. */
static bool ka_sockaddr(const char *ip, const char *port, int *af, unsigned char *addr, unsigned *portp)
{
	const char *cut = strchr(ip, '-');
	char host[KA_MAXBUF];
	unsigned long v = 0;
	size_t n;

	if (port && !port[strspn(port, "0")])
		port = NULL;
	if (port && !ka_unsigned(port, 1, 65535, true, &v))
		return false;
	if (!cut)
		cut = strchr(ip, '/');
	n = cut ? (size_t)(cut - ip) : strlen(ip);
	if (n >= sizeof(host))
		return false;
	memcpy(host, ip, n);
	host[n] = '\0';
	*af = strchr(ip, ':') ? AF_INET6 : AF_INET;
	*portp = (unsigned)v;
	memset(addr, 0, 16);
	return inet_pton(*af, host, addr) == 1;
}

static void ka_fwd(const char *method, int *fwd)
{
	if (!strcmp(method, "NAT"))
		*fwd = KA_FWD_NAT;
	else if (!strcmp(method, "DR"))
		*fwd = KA_FWD_DR;
	else if (!strcmp(method, "TUN"))
		*fwd = KA_FWD_TUN;
}

static unsigned ka_fam_bit(int af)
{
	return af == AF_INET ? 1u : af == AF_INET6 ? 2u : 0u;
}

/* -- track_file NAME { file PATH  weight W [reverse]  init_file ... } -- */

static void ka_track_file(struct ka_parse *p)
{
	struct ka_track t = { .weight = 1 };

	if (!ka_tok(p, 1)) {
		ka_skip_block(p);
		return;
	}
	t.name = ka_pdup(p, ka_tok(p, 1));
	ka_open_block(p);
	while (ka_in_block(p)) {
		if (ka_is(p, "file") && ka_tok(p, 1) && !t.path) {
			t.path = ka_pdup(p, ka_tok(p, 1));
		} else if (ka_is(p, "weight") && ka_tok(p, 1) && t.weight == 1) {
			/* The man page says any int; track_file.c takes [-254, 254]. */
			if (!ka_int(ka_tok(p, 1), -254, 254, true, &t.weight))
				t.weight = 1;
			if (ka_tok(p, 2) && !strcmp(ka_tok(p, 2), "reverse"))
				t.reverse = true;
		}
	}
	/* track_file_end_handler(): without a file it is dropped. */
	if (t.name && t.path && ka_grow(&p->r, (void **)&p->tracks, &p->tracks_cap, p->ntracks, sizeof(t))) {
		p->tracks[p->ntracks++] = t;
		return;
	}
	free(t.name);
	free(t.path);
}

/* -- virtual_server_group NAME { IP [PORT] | IP-END [PORT] | IP/MASK [PORT] | fwmark N [inet|inet6] } -- */

/* Whether a is in an address range as ipvs_group_range_cmd() steps through
 * it: only the last byte of an IPv4 address (htonl(1) added to a network
 * order word, little-endian), the last 16 bits of an IPv6 one, wrapping; a
 * range whose end differs above that never ends, so all of it. */
static bool ka_in_range(int af, const unsigned char *start, const unsigned char *end, const unsigned char *a)
{
	size_t n = ka_alen(af), k = af == AF_INET6 ? 2 : 1;
	unsigned s = start[n - 1], e = end[n - 1], x = a[n - 1];

	if (memcmp(a, start, n - k))
		return false;
	if (k == 2) {
		s |= (unsigned)start[n - 2] << 8;
		e |= (unsigned)end[n - 2] << 8;
		x |= (unsigned)a[n - 2] << 8;
	}
	if (memcmp(start, end, n - k))
		return true;
	return s <= e ? x >= s && x <= e : x >= s || x <= e;
}

/* The end of IP/MASK, or false when the address has host bits. */
static bool ka_mask_end(int af, const unsigned char *addr, unsigned long mask, unsigned char *end)
{
	size_t n = ka_alen(af);

	memcpy(end, addr, n);
	for (size_t bit = mask; bit < n * 8; bit++) {
		unsigned char m = (unsigned char)(0x80u >> (bit % 8));

		if (addr[bit / 8] & m)
			return false;
		end[bit / 8] |= m;
	}
	return true;
}

/* The end of IP-END, IP-LAST or a lone IP; false when keepalived skips the entry. */
static bool ka_range_end(const char *s, int af, const unsigned char *start, const char *port, unsigned char *end)
{
	const char *dash = strchr(s, '-');
	size_t n = ka_alen(af);
	unsigned long last;
	char *stop;
	int eaf;
	unsigned eport;

	memcpy(end, start, n);
	if (!dash)
		return true;
	if (strchr(dash + 1, af == AF_INET ? '.' : ':')) {
		return ka_sockaddr(dash + 1, port, &eaf, end, &eport) && eaf == af && memcmp(start, end, n) <= 0;
	}
	/* inet_stor(): the last byte (IPv4, decimal) or 16 bits (IPv6, hex). */
	errno = 0;
	last = strtoul(dash + 1, &stop, af == AF_INET6 ? 16 : 10);
	if (errno == ERANGE || last > (af == AF_INET6 ? 0xffffu : 0xffu))
		return false;
	if (af == AF_INET6) {
		if (((unsigned)start[14] << 8 | start[15]) >= last)
			return false;
		end[14] = (unsigned char)(last >> 8);
		end[15] = (unsigned char)last;
		return true;
	}
	if (start[3] >= last)
		return false;
	end[3] = (unsigned char)last;
	return true;
}

/* alloc_vsg_entry() */
static void ka_vsg_entry(struct ka_parse *p, struct ka_vsg *g, char **v, size_t n)
{
	const struct lbm_ka_service *svc = p->q.svc;
	unsigned char start[16], end[16];
	const char *mask;
	unsigned long mark, bits;
	unsigned port;
	char *stop;
	int af;

	if (!strcmp(v[0], "fwmark")) {
		int fam = AF_UNSPEC;

		if (n < 2 || !ka_unsigned(v[1], 0, UINT32_MAX, true, &mark))
			return;
		if (n > 2 && strcmp(v[2], "inet") && strcmp(v[2], "inet6"))
			return;
		if (n > 2)
			fam = !strcmp(v[2], "inet") ? AF_INET : AF_INET6;
		g->have4 |= fam == AF_INET;
		g->have6 |= fam == AF_INET6;
		g->nofam |= fam == AF_UNSPEC;
		g->has_fwmark = true;
		if (svc->fwmark && svc->fwmark == mark)
			g->fwm_hit |= 1u << ka_fam_bit(fam);
		return;
	}
	if (!ka_sockaddr(v[0], n > 1 ? v[1] : NULL, &af, start, &port))
		return;
	if ((mask = strchr(v[0], '/'))) {
		errno = 0;
		bits = strtoul(mask + 1, &stop, 10);
		if (*stop || !bits || bits > ka_alen(af) * 8 || !ka_mask_end(af, start, bits, end))
			return;
	} else if (!ka_range_end(v[0], af, start, n > 1 ? v[1] : NULL, end)) {
		return;
	}
	g->have4 |= af == AF_INET;
	g->have6 |= af == AF_INET6;
	g->has_addr = true;
	if (!svc->fwmark && svc->af == af && svc->port == port && ka_in_range(af, start, end, svc->addr))
		g->addr_hit = true;
}

/* vsg_handler(): its lines are values (alloc_value_block()), up to the
 * first '}'. */
static void ka_vs_group(struct ka_parse *p)
{
	struct ka_vsg g = { 0 };
	bool first = true;

	if (!ka_tok(p, 1)) {
		ka_skip_block(p);
		return;
	}
	g.name = ka_pdup(p, ka_tok(p, 1));
	while (ka_next(p)) {
		size_t from = 0, n = p->r.ntok;
		bool end = false;

		if (first && ka_is(p, "{")) {
			first = false;
			if (n == 1)
				continue;
			from = 1;
		}
		first = false;
		if (!strcmp(p->r.tok[n - 1], "}")) {
			if (n - from == 1)
				break;
			n--;
			end = true;
		}
		ka_vsg_entry(p, &g, p->r.tok + from, n - from);
		if (end)
			break;
	}
	/* "has no entries - removing", "cannot have IPv4, IPv6 and fwmark without family - removing" */
	if (g.name && (g.has_addr || g.has_fwmark) && !(g.have4 && g.have6 && g.nofam) &&
	    ka_grow(&p->r, (void **)&p->vsgs, &p->vsgs_cap, p->nvsgs, sizeof(g))) {
		p->vsgs[p->nvsgs++] = g;
		return;
	}
	free(g.name);
}

/* -- checkers -- */

enum ka_checker {
	KA_CHK_NONE = -1,
	KA_CHK_PLAIN, /* TCP_CHECK UDP_CHECK PING_CHECK DNS_CHECK */
	KA_CHK_HTTP,  /* HTTP_GET SSL_GET: url { path ... } blocks */
	KA_CHK_SMTP,  /* host { ... } blocks */
	KA_CHK_MISC,
	KA_CHK_BFD,
	KA_CHK_FILE,
};

static enum ka_checker ka_checker_kind(const char *kw)
{
	static const struct {
		const char *name;
		enum ka_checker kind;
	} kinds[] = {
		{ "TCP_CHECK", KA_CHK_PLAIN }, { "UDP_CHECK", KA_CHK_PLAIN }, { "PING_CHECK", KA_CHK_PLAIN },
		{ "DNS_CHECK", KA_CHK_PLAIN }, { "HTTP_GET", KA_CHK_HTTP },   { "SSL_GET", KA_CHK_HTTP },
		{ "SMTP_CHECK", KA_CHK_SMTP }, { "MISC_CHECK", KA_CHK_MISC }, { "BFD_CHECK", KA_CHK_BFD },
		{ "FILE_CHECK", KA_CHK_FILE },
	};

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (!strcmp(kw, kinds[i].name))
			return kinds[i].kind;
	}
	return KA_CHK_NONE;
}

/* A url or host block: whether it has a path (url_check() drops a url without). */
static bool ka_url(struct ka_parse *p)
{
	bool path = false;

	ka_open_block(p);
	while (ka_in_block(p))
		path |= ka_is(p, "path") && p->r.ntok >= 2;
	return path;
}

static void ka_checker(struct ka_parse *p, struct ka_rs *rs, enum ka_checker kind)
{
	bool ok = kind == KA_CHK_PLAIN || kind == KA_CHK_SMTP;
	unsigned names = 0;

	ka_open_block(p);
	while (ka_in_block(p)) {
		if ((kind == KA_CHK_HTTP && ka_is(p, "url")) || (kind == KA_CHK_SMTP && ka_is(p, "host")))
			ok |= ka_url(p) && kind == KA_CHK_HTTP;
		else if (kind == KA_CHK_MISC && ka_is(p, "misc_path") && p->r.ntok >= 2)
			ok = true;
		else if (kind == KA_CHK_BFD && ka_is(p, "name"))
			ok = ++names == 1 && p->r.ntok == 2; /* a second name drops the checker */
	}
	rs->checkers += ok;
}

static size_t ka_find_track(const struct ka_parse *p, const char *name)
{
	for (size_t i = 0; i < p->ntracks; i++) {
		if (!strcmp(p->tracks[i].name, name))
			return i;
	}
	return SIZE_MAX;
}

/* check_file.c: FILE_CHECK { track_file NAME  weight W [reverse|noreverse] },
 * the track_file defined before it; the weight, if not given, the track_file's. */
static void ka_file_check(struct ka_parse *p, struct ka_rs *rs)
{
	struct ka_fc fc = { .track = SIZE_MAX };

	ka_open_block(p);
	while (ka_in_block(p)) {
		const char *opt = ka_tok(p, 2);
		int w;

		if (ka_is(p, "track_file") && ka_tok(p, 1)) {
			size_t t = ka_find_track(p, ka_tok(p, 1));

			fc.track = t != SIZE_MAX ? t : fc.track;
		} else if (ka_is(p, "weight") && ka_tok(p, 1) &&
			   ka_int(ka_tok(p, 1), -KA_WEIGHT_MAX, KA_WEIGHT_MAX, true, &w) &&
			   (!opt || !strcmp(opt, "reverse") || !strcmp(opt, "noreverse"))) {
			fc.weight = w;
			fc.weighted = true;
			fc.reverse = opt && !strcmp(opt, "reverse");
		}
	}
	if (fc.track == SIZE_MAX)
		return; /* "FILE_CHECK has no track_file specified - ignoring" */
	if (ka_grow(&p->r, (void **)&rs->fc, &rs->fc_cap, rs->nfc, sizeof(fc))) {
		rs->fc[rs->nfc++] = fc;
		rs->checkers++;
	}
}

/* -- real_server IP [PORT] { ... } -- */

static void ka_rs_free(struct ka_rs *rs)
{
	free(rs->fc);
}

static bool ka_asked(const struct ka_parse *p, int af, const unsigned char *addr)
{
	return af == p->q.af && !memcmp(addr, p->q.addr, ka_alen(af));
}

/* rs_end_handler(): a real server not tunnelled sets the virtual server's
 * family, or is dropped when it differs. */
static void ka_rs_done(struct ka_parse *p, struct ka_vs *vs, struct ka_rs *rs)
{
	if (rs->fwd != KA_FWD_TUN) {
		if (vs->af == AF_UNSPEC)
			vs->af = rs->af;
		else if (vs->af != rs->af)
			goto drop;
	}
	vs->kept++;
	vs->rs_af = vs->rs_af ? vs->rs_af : rs->af;
	vs->rs_fams |= ka_fam_bit(rs->af);
	/* Of duplicates keepalived keeps the first ("real server is duplicated
	 * - removing second rs"). */
	for (size_t i = 0; rs->conf && i < vs->ncand; i++) {
		if (vs->cand[i].port == rs->port)
			goto drop;
	}
	if (rs->conf && ka_grow(&p->r, (void **)&vs->cand, &vs->cand_cap, vs->ncand, sizeof(*rs))) {
		vs->cand[vs->ncand++] = *rs;
		return;
	}
drop:
	ka_rs_free(rs);
}

static void ka_real_server(struct ka_parse *p, struct ka_vs *vs)
{
	struct ka_rs rs = { .fwd = vs->fwd, .weight = -1, .inhibit = -1 };
	unsigned long v;

	if (!ka_tok(p, 1) || !ka_sockaddr(ka_tok(p, 1), ka_tok(p, 2), &rs.af, rs.addr, &rs.port)) {
		ka_skip_block(p); /* "Invalid real server ip address/port - skipping" */
		return;
	}
	if (ka_asked(p, rs.af, rs.addr)) {
		rs.conf = p->r.file;
		rs.line = p->r.line;
	}
	ka_open_block(p);
	while (ka_in_block(p)) {
		enum ka_checker kind = ka_checker_kind(p->r.tok[0]);
		const char *arg = ka_tok(p, 1);

		if (kind == KA_CHK_FILE)
			ka_file_check(p, &rs);
		else if (kind != KA_CHK_NONE)
			ka_checker(p, &rs, kind);
		else if (ka_is(p, "weight") && arg && ka_unsigned(arg, 0, KA_WEIGHT_MAX, true, &v))
			rs.weight = (long long)v;
		else if (ka_is(p, "lvs_method") && arg)
			ka_fwd(arg, &rs.fwd);
		else if (ka_is(p, "inhibit_on_failure") && (!arg || ka_bool(arg) >= 0))
			rs.inhibit = arg ? ka_bool(arg) : 1;
	}
	ka_rs_done(p, vs, &rs);
}

/* -- virtual_server IP [PORT] | fwmark N | group NAME { ... } -- */

static void ka_vs_free(struct ka_vs *vs)
{
	for (size_t i = 0; i < vs->ncand; i++)
		ka_rs_free(&vs->cand[i]);
	free(vs->cand);
	free(vs->group);
}

static void ka_copy(char *dst, size_t size, const char *src)
{
	size_t len = strnlen(src, size - 1);

	memcpy(dst, src, len);
	dst[len] = '\0';
}

/* The first FILE_CHECK whose value 1 brings the weight to 0 or below. A
 * track weight of 0 fails the checker on any value but 0, which with
 * inhibit_on_failure zeroes the weight. */
static void ka_pick_track(const struct ka_parse *p, const struct ka_rs *rs, struct lbm_ka_real *o)
{
	for (size_t i = 0; i < rs->nfc; i++) {
		const struct ka_fc *fc = &rs->fc[i];
		const struct ka_track *t = &p->tracks[fc->track];
		long long w = fc->weighted ? fc->weight : t->weight;
		bool rev = fc->weighted ? fc->reverse : t->reverse;
		long long delta = rev ? -w : w;
		bool drains = w ? o->weight + delta <= 0 : o->inhibit && !rev;

		if (!drains || strlen(t->name) >= sizeof(o->track_file) || strlen(t->path) >= sizeof(o->track_path))
			continue;
		ka_copy(o->track_file, sizeof(o->track_file), t->name);
		ka_copy(o->track_path, sizeof(o->track_path), t->path);
		o->track_weight = (int)delta;
		return;
	}
}

/* The virtual server is the service: which of its real servers is the one
 * asked about, with the port keepalived gives IPVS (ipvs_cmd()): its own
 * for NAT, the service's for DR and TUN (0 for a fwmark). */
static void ka_found(struct ka_parse *p, const struct ka_vs *vs)
{
	const struct lbm_ka_service *svc = p->q.svc;
	struct ka_hit *h;

	for (size_t i = 0; i < vs->ncand; i++) {
		const struct ka_rs *rs = &vs->cand[i];
		int fwd = rs->fwd != KA_FWD_UNSET ? rs->fwd : vs->fwd != KA_FWD_UNSET ? vs->fwd : KA_FWD_NAT;
		unsigned port = fwd == KA_FWD_NAT ? rs->port : svc->fwmark ? 0 : svc->port;

		if (port != p->q.port)
			continue;
		h = &p->managed;
		if (h->set && h->seq < vs->seq)
			return;
		*h = (struct ka_hit){ .set = true, .seq = vs->seq };
		h->r.service = h->r.managed = true;
		h->r.checked = rs->checkers > 0;
		h->r.inhibit = rs->inhibit >= 0 ? rs->inhibit : vs->inhibit;
		h->r.weight = (int)(rs->weight >= 0 ? rs->weight : vs->weight);
		ka_pick_track(p, rs, &h->r);
		ka_copy(h->r.conf, sizeof(h->r.conf), rs->conf);
		h->r.line = rs->line;
		return;
	}
	h = &p->service;
	if (h->set && h->seq < vs->seq)
		return;
	*h = (struct ka_hit){ .set = true, .seq = vs->seq };
	h->r.service = true;
	ka_copy(h->r.conf, sizeof(h->r.conf), vs->conf);
	h->r.line = vs->line;
}

static const struct ka_vsg *ka_find_vsg(const struct ka_parse *p, const char *name)
{
	for (size_t i = 0; i < p->nvsgs; i++) {
		if (!strcmp(p->vsgs[i].name, name))
			return &p->vsgs[i];
	}
	return NULL;
}

/* link_vsg_to_vs() and validate_check_config() for virtual_server group NAME. */
static void ka_group_done(struct ka_parse *p, struct ka_vs *vs)
{
	const struct lbm_ka_service *svc = p->q.svc;
	const struct ka_vsg *g = ka_find_vsg(p, vs->group);
	bool hit;
	int fam;

	if (!g || (g->have4 && g->have6 && vs->af != AF_UNSPEC) || (g->have4 && vs->af == AF_INET6) ||
	    (g->have6 && vs->af == AF_INET))
		return;
	if (vs->af == AF_UNSPEC && g->have4 != g->have6)
		vs->af = g->have4 ? AF_INET : AF_INET6;
	if (g->has_addr && !vs->protocol)
		vs->protocol = IPPROTO_UDP; /* "no protocol set - defaulting to UDP" */
	if (!svc->fwmark) {
		hit = g->addr_hit && vs->protocol == svc->protocol;
	} else {
		fam = vs->af != AF_UNSPEC ? vs->af : g->have4 ? AF_INET : AF_INET6; /* ipvs_set_srule() */
		hit = (g->fwm_hit & (1u << ka_fam_bit(svc->af))) || ((g->fwm_hit & 1u) && fam == svc->af);
	}
	if (hit)
		ka_found(p, vs);
}

/* A virtual server of a group not defined yet waits for the end, only when
 * it can still be the service: with addresses, its protocol (UDP if none)
 * must be the service's. */
static void ka_vs_group_done(struct ka_parse *p, struct ka_vs *vs)
{
	const struct lbm_ka_service *svc = p->q.svc;
	void *fit;

	if (ka_find_vsg(p, vs->group)) {
		ka_group_done(p, vs);
	} else if ((svc->fwmark || (vs->protocol ? vs->protocol : IPPROTO_UDP) == svc->protocol) &&
		   ka_grow(&p->r, (void **)&p->groups, &p->groups_cap, p->ngroups, sizeof(*vs))) {
		if (vs->ncand && (fit = realloc(vs->cand, vs->ncand * sizeof(*vs->cand)))) {
			vs->cand = fit;
			vs->cand_cap = vs->ncand;
		}
		p->groups[p->ngroups++] = *vs;
		return;
	}
	ka_vs_free(vs);
}

/* vs_end_handler() and validate_check_config(). */
static void ka_vs_done(struct ka_parse *p, struct ka_vs *vs)
{
	const struct lbm_ka_service *svc = p->q.svc;

	if (vs->sorry && vs->sorry_fwd != KA_FWD_TUN) {
		if (vs->af == AF_UNSPEC)
			vs->af = vs->sorry_af;
		else if (vs->af != vs->sorry_af)
			vs->sorry = false;
	}
	if (vs->af == AF_UNSPEC && vs->kind != KA_VS_GROUP) {
		/* Every server tunnelled: the family of them all, else IPv4. */
		int af = vs->sorry ? vs->sorry_af : vs->rs_af;

		vs->af = (af && !(vs->rs_fams & ~ka_fam_bit(af))) ? af : AF_INET;
	}
	if (!vs->kept)
		goto out; /* "has no real servers - ignoring" */
	if (vs->kind == KA_VS_GROUP) {
		ka_vs_group_done(p, vs);
		return;
	}
	if (vs->kind == KA_VS_FWMARK) {
		if (vs->fwmark && svc->fwmark == vs->fwmark && svc->af == vs->af)
			ka_found(p, vs);
		goto out;
	}
	if (!vs->protocol)
		vs->protocol = IPPROTO_UDP; /* "no protocol set - defaulting to UDP" */
	if (!svc->fwmark && svc->af == vs->af && !memcmp(svc->addr, vs->addr, ka_alen(vs->af)) &&
	    svc->port == vs->port && svc->protocol == vs->protocol)
		ka_found(p, vs);
out:
	ka_vs_free(vs);
}

/* alloc_vs() */
static bool ka_vs_key(struct ka_parse *p, struct ka_vs *vs)
{
	const char *a = ka_tok(p, 1), *b = ka_tok(p, 2);
	unsigned long mark;

	if (!a)
		return false;
	if (!strcmp(a, "group")) {
		vs->kind = KA_VS_GROUP;
		return b && (vs->group = ka_pdup(p, b));
	}
	if (!strcmp(a, "fwmark")) {
		vs->kind = KA_VS_FWMARK;
		if (!b || !ka_unsigned(b, 0, UINT32_MAX, true, &mark))
			return false;
		vs->fwmark = (unsigned)mark;
		return true;
	}
	return ka_sockaddr(a, b, &vs->af, vs->addr, &vs->port);
}

/* pgr_handler(): persistence_granularity tells the family when none is set. */
static void ka_granularity(struct ka_vs *vs, const char *g)
{
	int af = vs->af != AF_UNSPEC ? vs->af : strchr(g, '.') ? AF_INET : AF_INET6;
	unsigned long bits;
	struct in_addr mask;

	if (af == AF_INET6 ? ka_unsigned(g, 1, 128, false, &bits) : inet_aton(g, &mask) != 0)
		vs->af = af;
}

static void ka_vs_keyword(struct ka_parse *p, struct ka_vs *vs)
{
	const char *arg = ka_tok(p, 1);
	unsigned long v;
	int af;
	unsigned port;
	unsigned char addr[16];

	if (ka_is(p, "inhibit_on_failure")) {
		vs->inhibit = true;
	} else if (!arg) {
		return;
	} else if (ka_is(p, "protocol")) {
		if (!strcasecmp(arg, "TCP"))
			vs->protocol = IPPROTO_TCP;
		else if (!strcasecmp(arg, "UDP"))
			vs->protocol = IPPROTO_UDP;
		else if (!strcasecmp(arg, "SCTP"))
			vs->protocol = IPPROTO_SCTP;
	} else if (ka_is(p, "lb_kind") || ka_is(p, "lvs_method")) {
		ka_fwd(arg, &vs->fwd);
	} else if (ka_is(p, "weight")) {
		if (ka_unsigned(arg, 1, KA_WEIGHT_MAX, true, &v))
			vs->weight = (long long)v;
	} else if (ka_is(p, "ip_family")) {
		af = !strcmp(arg, "inet") ? AF_INET : !strcmp(arg, "inet6") ? AF_INET6 : AF_UNSPEC;
		if (af != AF_UNSPEC && (vs->af == AF_UNSPEC || vs->af == af))
			vs->af = af;
	} else if (ka_is(p, "persistence_granularity")) {
		ka_granularity(vs, arg);
	} else if (ka_is(p, "sorry_server")) {
		if (ka_sockaddr(arg, ka_tok(p, 2), &af, addr, &port)) {
			vs->sorry = true;
			vs->sorry_af = af;
			vs->sorry_fwd = vs->fwd;
		}
	} else if (ka_is(p, "sorry_server_lvs_method") && vs->sorry) {
		ka_fwd(arg, &vs->sorry_fwd);
	}
}

static void ka_virtual_server(struct ka_parse *p)
{
	struct ka_vs vs = { .fwd = KA_FWD_UNSET, .weight = 1, .seq = p->seq++ };

	if (!ka_vs_key(p, &vs)) {
		ka_skip_block(p); /* "Invalid virtual server ... - skipping" */
		ka_vs_free(&vs);
		return;
	}
	vs.conf = p->r.file;
	vs.line = p->r.line;
	ka_open_block(p);
	while (ka_in_block(p)) {
		if (ka_is(p, "real_server"))
			ka_real_server(p, &vs);
		else
			ka_vs_keyword(p, &vs);
	}
	ka_vs_done(p, &vs);
}

/* Root keywords with a block that the checker process does not read. */
static bool ka_root_block(const char *kw)
{
	static const char *const blocks[] = {
		"global_defs",	      "SSL",
		"bfd_instance",	      "track_group",
		"static_ipaddress",   "static_routes",
		"static_rules",	      "vrrp_sync_group",
		"garp_group",	      "linkbeat_interfaces",
		"vrrp_instance",      "vrrp_script",
		"vrrp_track_process", "interface_up_down_delays",
	};

	for (size_t i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++) {
		if (!strcmp(kw, blocks[i]))
			return true;
	}
	return false;
}

/* The top level. Anything else is a line of its own, '{' and '}' included. */
static void ka_top_level(struct ka_parse *p)
{
	while (ka_next(p)) {
		if (ka_is(p, "virtual_server"))
			ka_virtual_server(p);
		else if (ka_is(p, "virtual_server_group"))
			ka_vs_group(p);
		else if (ka_is(p, "track_file") || ka_is(p, "vrrp_track_file"))
			ka_track_file(p);
		else if (ka_root_block(p->r.tok[0]))
			ka_skip_block(p);
	}
	for (size_t i = 0; i < p->ngroups; i++)
		ka_group_done(p, &p->groups[i]);
}

static void ka_parse_free(struct ka_parse *p)
{
	for (size_t i = 0; i < p->ntracks; i++) {
		free(p->tracks[i].name);
		free(p->tracks[i].path);
	}
	free(p->tracks);
	for (size_t i = 0; i < p->nvsgs; i++)
		free(p->vsgs[i].name);
	free(p->vsgs);
	for (size_t i = 0; i < p->ngroups; i++)
		ka_vs_free(&p->groups[i]);
	free(p->groups);
	ka_reader_free(&p->r);
	free(p);
}

/* The configuration text (malloc()ed, taken over) of path, whose directory
 * is dir, read as keepalived's instance `instance` reads it, includes through
 * io (NULL: none). 0, or -1 when memory ran out. */
static int ka_parse(const struct ka_io *io, const char *path, const char *dir, char *text, size_t len,
		    const char *instance, const struct ka_query *q, struct lbm_ka_real *out)
{
	struct ka_parse *p = calloc(1, sizeof(*p));
	struct ka_file *f = calloc(1, sizeof(*f));
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (!p || !f)
		goto out;
	p->q = *q;
	p->r.io = io;
	p->r.instance = instance;
	if (!(p->r.names[0] = ka_dup(&p->r, path, strlen(path))) || !(f->dir = ka_dup(&p->r, dir, strlen(dir))))
		goto out;
	p->r.files = 1;
	p->r.bytes = len;
	f->path = p->r.names[0];
	f->text = text;
	f->len = len;
	f->line = 1;
	text = NULL;
	p->r.stack[p->r.depth++] = f;
	f = NULL;
	ka_std_defs(&p->r);
	ka_top_level(p);
	if (p->r.oom)
		goto out;
	if (p->managed.set)
		*out = p->managed.r;
	else if (p->service.set)
		*out = p->service.r;
	ret = 0;
out:
	free(text);
	ka_file_free(f);
	if (p)
		ka_parse_free(p);
	return ret;
}

/* ---- the file system ---- */

static int ka_fs_glob(void *ctx, const char *pattern, char ***paths)
{
	glob_t g;
	size_t n = 0;
	int rc = glob(pattern, GLOB_MARK | GLOB_BRACE, NULL, &g);

	(void)ctx;
	*paths = NULL;
	if (rc)
		return rc == GLOB_NOSPACE ? -1 : 0;
	*paths = calloc(g.gl_pathc + 1, sizeof(**paths));
	for (size_t i = 0; *paths && i < g.gl_pathc; i++) {
		size_t len = strlen(g.gl_pathv[i]);

		if (len && g.gl_pathv[i][len - 1] == '/')
			continue; /* "is a directory - skipping" */
		if (!((*paths)[n++] = strdup(g.gl_pathv[i]))) {
			globfree(&g);
			return -1;
		}
	}
	globfree(&g);
	return *paths ? 0 : -1;
}

/* check_glob_file(): a regular file, not executable. O_NONBLOCK: a FIFO
 * does not hold the open. */
static int ka_fs_read(void *ctx, const char *path, char **text, size_t *len, unsigned long long id[2])
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK), e = 0;
	struct stat st;
	size_t size = 0, cap;
	ssize_t got;

	(void)ctx;
	*text = NULL;
	*len = 0;
	if (fd < 0)
		return errno;
	if (fstat(fd, &st)) {
		e = errno;
		goto out;
	}
	if (S_ISDIR(st.st_mode) || !S_ISREG(st.st_mode)) {
		e = S_ISDIR(st.st_mode) ? EISDIR : KA_ENOTREG;
		goto out;
	}
	if (st.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH)) {
		e = KA_EEXEC;
		goto out;
	}
	if (st.st_size > (off_t)KA_FILE_MAX) {
		e = KA_EBIG;
		goto out;
	}
	cap = (size_t)st.st_size + 1;
	if (!(*text = malloc(cap + 1))) {
		e = ENOMEM;
		goto out;
	}
	while (size < cap && (got = read(fd, *text + size, cap - size)) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			e = errno;
			goto out;
		}
		size += (size_t)got;
	}
	(*text)[size] = '\0';
	*len = size;
	id[0] = (unsigned long long)st.st_dev;
	id[1] = (unsigned long long)st.st_ino;
out:
	close(fd);
	if (e) {
		free(*text);
		*text = NULL;
	}
	return e;
}

static const char *ka_why(int e)
{
	switch (e) {
	case KA_ENOTREG: return "not a regular file";
	case KA_EEXEC: return "an executable file, which keepalived does not read";
	case KA_EBIG: return "larger than 16 MiB";
	}
	return strerror(e);
}

/* The directory relative includes start from, absolute as keepalived's
 * ${_PWD} (getcwd()) is. */
static char *ka_main_dir(const char *conf)
{
	const char *slash = strrchr(conf, '/');
	char *dir = slash ? strndup(conf, slash == conf ? 1 : (size_t)(slash - conf)) : strdup(".");
	char *real = dir ? realpath(dir, NULL) : NULL;

	if (real) {
		free(dir);
		return real;
	}
	return dir;
}

int lbm_ka_lookup(const char *conf, const struct lbm_ka_service *svc, int af, const unsigned char *addr, unsigned port,
		  struct lbm_ka_real *out, char *err, size_t errsz)
{
	static const struct ka_io fs = { .glob = ka_fs_glob, .read = ka_fs_read };
	const struct ka_query q = { .svc = svc, .af = af, .addr = addr, .port = port };
	struct utsname u;
	char *text = NULL, *dir = NULL;
	const char *instance = NULL;
	unsigned long long id[2];
	size_t len;
	int e, ret = -1;

	memset(out, 0, sizeof(*out));
	e = ka_fs_read(NULL, conf, &text, &len, id);
	if (e) {
		snprintf(err, errsz, "cannot read keepalived configuration %s: %s", conf, ka_why(e));
		goto out;
	}
	if (!(dir = ka_main_dir(conf))) {
		snprintf(err, errsz, "cannot read keepalived configuration %s: %s", conf, strerror(ENOMEM));
		goto out;
	}
	/* main.c: without -i, the instance is the host name up to its first '.'. */
	if (!uname(&u)) {
		u.nodename[strcspn(u.nodename, ".")] = '\0';
		instance = u.nodename;
	}
	ret = ka_parse(&fs, conf, dir, text, len, instance, &q, out);
	text = NULL;
	if (ret)
		snprintf(err, errsz, "cannot read keepalived configuration %s: %s", conf, strerror(ENOMEM));
out:
	free(text);
	free(dir);
	return ret;
}
