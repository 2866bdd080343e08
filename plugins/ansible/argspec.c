// SPDX-License-Identifier: MIT
/* AnsibleModule's argument_spec validation for a binary module. The Python
 * it mirrors is named in each comment, so a reader can check it line by
 * line against ansible-core 2.14. */
#define _POSIX_C_SOURCE 200809L

#include "argspec.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NO_LOG_PLACEHOLDER "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"

/* A growing string; out of memory is remembered and checked once at the end. */
struct sbuf {
	char *s;
	size_t len, cap;
	bool oom;
};

static void sb_put(struct sbuf *sb, const char *s, size_t n)
{
	if (sb->oom)
		return;
	if (sb->len + n + 1 > sb->cap) {
		size_t cap = (sb->len + n + 1) * 2;
		char *p = realloc(sb->s, cap);

		if (!p) {
			sb->oom = true;
			return;
		}
		sb->s = p;
		sb->cap = cap;
	}
	memcpy(sb->s + sb->len, s, n);
	sb->len += n;
	sb->s[sb->len] = '\0';
}

static void sb_puts(struct sbuf *sb, const char *s)
{
	sb_put(sb, s, strlen(s));
}

static void sb_printf(struct sbuf *sb, const char *fmt, ...)
{
	char buf[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	sb_puts(sb, buf);
}

/* The string built, or NULL when memory ran out; the buffer is handed over. */
static char *sb_take(struct sbuf *sb)
{
	if (sb->oom || !sb->s) {
		free(sb->s);
		return sb->oom ? NULL : strdup("");
	}
	return sb->s;
}

/* Python's type(value), as "%s" prints it. */
static const char *py_type(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING: return "<class 'str'>";
	case JSON_INTEGER: return "<class 'int'>";
	case JSON_REAL: return "<class 'float'>";
	case JSON_TRUE:
	case JSON_FALSE: return "<class 'bool'>";
	case JSON_ARRAY: return "<class 'list'>";
	case JSON_OBJECT: return "<class 'dict'>";
	case JSON_NULL: break;
	}
	return "<class 'NoneType'>";
}

/* Python's repr(float): the shortest digits that read back the same, in
 * positional notation unless the exponent is below -4 or above 15. */
static void py_float(struct sbuf *sb, double v)
{
	char buf[40], digits[24];
	const char *p = buf;
	int nd = 0, exp10, decpt;

	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*e", prec - 1, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	if (*p == '-')
		sb_put(sb, p++, 1);
	for (; *p != 'e'; p++)
		if (isdigit((unsigned char)*p))
			digits[nd++] = *p;
	exp10 = atoi(p + 1);
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	decpt = exp10 + 1;
	if (decpt <= -4 || decpt > 16) {
		sb_put(sb, digits, 1);
		if (nd > 1) {
			sb_puts(sb, ".");
			sb_put(sb, digits + 1, (size_t)nd - 1);
		}
		sb_printf(sb, "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
	} else if (decpt <= 0) {
		sb_puts(sb, "0.");
		for (int i = decpt; i < 0; i++)
			sb_puts(sb, "0");
		sb_put(sb, digits, (size_t)nd);
	} else if (decpt >= nd) {
		sb_put(sb, digits, (size_t)nd);
		for (int i = nd; i < decpt; i++)
			sb_puts(sb, "0");
		sb_puts(sb, ".0");
	} else {
		sb_put(sb, digits, (size_t)decpt);
		sb_puts(sb, ".");
		sb_put(sb, digits + decpt, (size_t)(nd - decpt));
	}
}

/* Python's repr(str) for ASCII; other characters are passed through. */
static void py_str_repr(struct sbuf *sb, const char *s)
{
	char q = strchr(s, '\'') && !strchr(s, '"') ? '"' : '\'';

	sb_put(sb, &q, 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == (unsigned char)q || c == '\\') {
			sb_puts(sb, "\\");
			sb_put(sb, s, 1);
		} else if (c == '\n') {
			sb_puts(sb, "\\n");
		} else if (c == '\r') {
			sb_puts(sb, "\\r");
		} else if (c == '\t') {
			sb_puts(sb, "\\t");
		} else if (c < 0x20 || c == 0x7f) {
			sb_printf(sb, "\\x%02x", c);
		} else {
			sb_put(sb, s, 1);
		}
	}
	sb_put(sb, &q, 1);
}

static void py_repr(struct sbuf *sb, const json_t *v);

static void py_repr_container(struct sbuf *sb, const json_t *v)
{
	const char *key, *sep = "";
	json_t *item;
	size_t i;

	if (json_is_array(v)) {
		sb_puts(sb, "[");
		json_array_foreach(v, i, item) {
			sb_puts(sb, sep);
			py_repr(sb, item);
			sep = ", ";
		}
		sb_puts(sb, "]");
		return;
	}
	sb_puts(sb, "{");
	json_object_foreach((json_t *)v, key, item) {
		sb_puts(sb, sep);
		py_str_repr(sb, key);
		sb_puts(sb, ": ");
		py_repr(sb, item);
		sep = ", ";
	}
	sb_puts(sb, "}");
}

/* Python's repr() of what json.loads() would have made of v. */
static void py_repr(struct sbuf *sb, const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING: py_str_repr(sb, json_string_value(v)); break;
	case JSON_INTEGER: sb_printf(sb, "%" JSON_INTEGER_FORMAT, json_integer_value(v)); break;
	case JSON_REAL: py_float(sb, json_real_value(v)); break;
	case JSON_TRUE: sb_puts(sb, "True"); break;
	case JSON_FALSE: sb_puts(sb, "False"); break;
	case JSON_NULL: sb_puts(sb, "None"); break;
	case JSON_ARRAY:
	case JSON_OBJECT: py_repr_container(sb, v); break;
	}
}

/* Python's str(): a string is itself, anything else its repr(). */
static void py_str(struct sbuf *sb, const json_t *v)
{
	if (json_is_string(v))
		sb_puts(sb, json_string_value(v));
	else
		py_repr(sb, v);
}

static char *py_str_dup(const json_t *v)
{
	struct sbuf sb = { 0 };

	py_str(&sb, v);
	return sb_take(&sb);
}

/* What str.strip() removes, in ASCII. */
static bool py_space(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

static bool digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Copy digits, dropping an underscore that stands between two of them, as
 * int() and float() allow. Returns how many digits were copied. */
static size_t copy_digits(const char **s, char **out)
{
	size_t n = 0;

	while (digit(**s)) {
		*(*out)++ = *(*s)++;
		n++;
		if (**s == '_' && digit((*s)[1]))
			(*s)++;
	}
	return n;
}

static bool word_is(const char *s, size_t n, const char *word)
{
	if (strlen(word) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (tolower((unsigned char)s[i]) != word[i])
			return false;
	return true;
}

/*
 * The text int() or float() reads in s, without whitespace and underscores,
 * or NULL when it reads none (or memory ran out: *oom). *special is set for
 * float()'s inf, infinity and nan.
 */
static char *py_number_text(const char *s, bool is_float, bool *special, bool *oom)
{
	size_t n = strlen(s), mantissa;
	const char *end;
	char *text, *out;

	*special = false;
	while (n && py_space(s[n - 1]))
		n--;
	while (n && py_space(*s))
		s++, n--;
	end = s + n;
	text = out = malloc(n + 1);
	if (!text) {
		*oom = true;
		return NULL;
	}
	if (s < end && (*s == '+' || *s == '-'))
		*out++ = *s++;
	if (is_float && (word_is(s, (size_t)(end - s), "inf") || word_is(s, (size_t)(end - s), "infinity") ||
			 word_is(s, (size_t)(end - s), "nan"))) {
		*out = '\0'; /* the sign alone: the caller reads it with strtod() */
		*special = true;
		return text;
	}
	mantissa = copy_digits(&s, &out);
	if (is_float && *s == '.') {
		*out++ = *s++;
		mantissa += copy_digits(&s, &out);
	}
	if (is_float && mantissa && (*s == 'e' || *s == 'E')) {
		*out++ = *s++;
		if (*s == '+' || *s == '-')
			*out++ = *s++;
		if (!copy_digits(&s, &out))
			mantissa = 0;
	}
	*out = '\0';
	if (!mantissa || s != end) {
		free(text);
		return NULL;
	}
	return text;
}

/* Errors of one validation: AnsibleModule reports only the first. */
struct check {
	char *first;
	bool oom;
};

static void add_error(struct check *c, const char *fmt, ...)
{
	va_list ap;
	char *msg;
	int len;

	if (c->first || c->oom)
		return;
	va_start(ap, fmt);
	len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	msg = len < 0 ? NULL : malloc((size_t)len + 1);
	if (!msg) {
		c->oom = true;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, (size_t)len + 1, fmt, ap);
	va_end(ap);
	c->first = msg;
}

/* A converter returns the converted value (a new reference), or NULL with
 * *why saying what was wrong (malloc'd; NULL with it: out of memory). */
typedef json_t *(*convert_fn)(json_t *value, char **why);

static char *dup_printf(const char *fmt, const char *arg)
{
	size_t len = strlen(fmt) + strlen(arg);
	char *s = malloc(len);

	if (s)
		snprintf(s, len, fmt, arg);
	return s;
}

/* check_type_str(): anything becomes its str(). */
static json_t *to_str(json_t *value, char **why)
{
	char *s;
	json_t *out;

	(void)why; /* str() of a JSON value never fails */
	if (json_is_string(value))
		return json_incref(value);
	s = py_str_dup(value);
	out = s ? json_string(s) : NULL;
	free(s);
	return out;
}

static void getenv_put(struct sbuf *sb, const char *name, size_t len, const char *whole, size_t whole_len)
{
	char *key = strndup(name, len);
	const char *value = key && len ? getenv(key) : NULL;

	if (!key)
		sb->oom = true;
	if (value)
		sb_puts(sb, value);
	else
		sb_put(sb, whole, whole_len);
	free(key);
}

/* posixpath.expandvars(): $NAME and ${NAME} of set variables; the rest stays. */
static void expandvars(struct sbuf *sb, const char *s)
{
	while (*s) {
		const char *name = s + 1, *end;
		size_t len = 0;

		if (*s == '$' && s[1] == '{' && (end = strchr(s + 2, '}'))) {
			name = s + 2;
			len = (size_t)(end - name);
			end++;
		} else {
			while (*s == '$' && (isalnum((unsigned char)name[len]) || name[len] == '_'))
				len++;
			end = name + len;
		}
		if (*s != '$' || end == s + 1) {
			sb_put(sb, s++, 1); /* not a variable, or a lone $ */
			continue;
		}
		getenv_put(sb, name, len, s, (size_t)(end - s));
		s = end;
	}
}

/* The home directory posixpath.expanduser() puts for ~ or ~user (NULL: none). */
static const char *home_of(const char *user, size_t len, bool *oom)
{
	const struct passwd *pw;
	char *name;

	if (!len) {
		const char *home = getenv("HOME");

		if (home)
			return home;
		pw = getpwuid(getuid());
		return pw ? pw->pw_dir : NULL;
	}
	name = strndup(user, len);
	if (!name) {
		*oom = true;
		return NULL;
	}
	pw = getpwnam(name);
	free(name);
	return pw ? pw->pw_dir : NULL;
}

/* posixpath.expanduser() */
static char *expanduser(const char *path, bool *oom)
{
	const char *slash, *home;
	struct sbuf sb = { 0 };
	size_t i, home_len;

	if (path[0] != '~')
		return strdup(path);
	slash = strchr(path + 1, '/');
	i = slash ? (size_t)(slash - path) : strlen(path);
	home = home_of(path + 1, i - 1, oom);
	if (!home)
		return *oom ? NULL : strdup(path);
	home_len = strlen(home);
	while (home_len && home[home_len - 1] == '/')
		home_len--;
	sb_put(&sb, home, home_len);
	sb_puts(&sb, path + i);
	if (!sb.oom && !sb.len)
		sb_puts(&sb, "/");
	return sb_take(&sb);
}

/* check_type_path(): str, then expanduser(expandvars()). */
static json_t *to_path(json_t *value, char **why)
{
	json_t *str = to_str(value, why), *out = NULL;
	struct sbuf sb = { 0 };
	char *vars, *path = NULL;
	bool oom = false;

	if (!str)
		return NULL;
	expandvars(&sb, json_string_value(str));
	vars = sb_take(&sb);
	if (vars)
		path = expanduser(vars, &oom);
	if (path)
		out = json_string(path);
	free(path);
	free(vars);
	json_decref(str);
	return out;
}

/* check_type_int(): an int (a bool is one in Python), or a string int() reads. */
static json_t *to_int(json_t *value, char **why)
{
	bool special, oom = false;
	json_int_t n;
	char *text;

	if (json_is_integer(value) || json_is_boolean(value))
		return json_incref(value);
	if (json_is_string(value)) {
		text = py_number_text(json_string_value(value), false, &special, &oom);
		if (text) {
			errno = 0;
			n = strtoll(text, NULL, 10);
			free(text);
			if (errno == ERANGE) {
				*why = dup_printf("'%s' is out of range", json_string_value(value));
				return NULL;
			}
			return json_integer(n);
		}
		if (oom)
			return NULL;
	}
	*why = dup_printf("%s cannot be converted to an int", py_type(value));
	return NULL;
}

/* check_type_float(): a float, int, bool, or a string float() reads. An
 * infinity or nan, which float() accepts, is refused: JSON cannot hold it. */
static json_t *to_float(json_t *value, char **why)
{
	bool special, oom = false;
	char *text;
	double d;

	if (json_is_real(value))
		return json_incref(value);
	if (json_is_integer(value))
		return json_real((double)json_integer_value(value));
	if (json_is_boolean(value))
		return json_real(json_is_true(value) ? 1.0 : 0.0);
	if (json_is_string(value)) {
		text = py_number_text(json_string_value(value), true, &special, &oom);
		d = text ? strtod(text, NULL) : 0;
		free(text);
		if (text && (special || !isfinite(d))) {
			*why = dup_printf("'%s' is not a finite number", json_string_value(value));
			return NULL;
		}
		if (text)
			return json_real(d);
		if (oom)
			return NULL;
	}
	*why = dup_printf("%s cannot be converted to a float", py_type(value));
	return NULL;
}

static const char *const booleans_true[] = { "y", "yes", "on", "1", "true", "t", NULL };
static const char *const booleans_false[] = { "n", "no", "off", "0", "false", "f", NULL };

static bool listed(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (!strcmp(*list, s))
			return true;
	return false;
}

/* boolean(value, strict=True) from module_utils/parsing/convert_bool.py */
int as_boolean(const json_t *value, bool *out)
{
	char word[8];
	const char *s;
	size_t n;

	if (json_is_boolean(value)) {
		*out = json_is_true(value);
		return 0;
	}
	if (json_is_number(value) && (json_number_value(value) == 1 || json_number_value(value) == 0)) {
		*out = json_number_value(value) == 1;
		return 0;
	}
	if (!json_is_string(value))
		return -1;
	s = json_string_value(value);
	n = strlen(s);
	while (n && py_space(s[n - 1]))
		n--;
	while (n && py_space(*s))
		s++, n--;
	if (n >= sizeof(word))
		return -1;
	for (size_t i = 0; i < n; i++)
		word[i] = (char)tolower((unsigned char)s[i]);
	word[n] = '\0';
	if (listed(booleans_true, word) || listed(booleans_false, word)) {
		*out = listed(booleans_true, word);
		return 0;
	}
	return -1;
}

/* check_type_bool(). Python lists BOOLEANS from a set, in an order that
 * changes from run to run; this is one fixed order. */
static json_t *to_bool(json_t *value, char **why)
{
	static const char valid[] = "'y', 'yes', 'on', '1', 'true', 't', 1, "
				    "'n', 'no', 'off', '0', 'false', 'f', 0";
	char *text;
	bool b;

	if (as_boolean(value, &b) == 0)
		return json_boolean(b);
	if (!json_is_string(value) && !json_is_number(value)) {
		*why = dup_printf("%s cannot be converted to a bool", py_type(value));
		return NULL;
	}
	text = py_str_dup(value);
	if (text) {
		struct sbuf sb = { 0 };

		sb_puts(&sb, "The value '");
		sb_puts(&sb, text);
		sb_puts(&sb, "' is not a valid boolean.  Valid booleans include: ");
		sb_puts(&sb, valid);
		*why = sb_take(&sb);
	}
	free(text);
	return NULL;
}

static json_t *to_raw(json_t *value, char **why)
{
	(void)why;
	return json_incref(value);
}

static const struct {
	convert_fn convert;
	const char *name;
} types[] = {
	[AS_STR] = { to_str, "str" },	    [AS_PATH] = { to_path, "path" }, [AS_INT] = { to_int, "int" },
	[AS_FLOAT] = { to_float, "float" }, [AS_BOOL] = { to_bool, "bool" }, [AS_RAW] = { to_raw, "raw" },
};

static bool add_no_log(json_t *no_log, const char *s)
{
	return json_array_append_new(no_log, json_string(s)) == 0;
}

/* _return_datastructure_name(): every string and number inside value. */
static bool collect_no_log(json_t *no_log, const json_t *value)
{
	const char *key;
	json_t *item;
	size_t i;
	char *text;
	bool ok = true;

	switch (json_typeof(value)) {
	case JSON_STRING: return !json_string_length(value) || add_no_log(no_log, json_string_value(value));
	case JSON_INTEGER:
	case JSON_REAL:
		text = py_str_dup(value);
		ok = text && add_no_log(no_log, text);
		free(text);
		return ok;
	case JSON_ARRAY:
		json_array_foreach(value, i, item)
			ok = ok && collect_no_log(no_log, item);
		return ok;
	case JSON_OBJECT:
		json_object_foreach((json_t *)value, key, item)
			ok = ok && collect_no_log(no_log, item);
		return ok;
	default: return true;
	}
}

/* Python's truth value of what json.loads() made. */
static bool py_truthy(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING: return json_string_length(v) > 0;
	case JSON_INTEGER:
	case JSON_REAL: return json_number_value(v) != 0;
	case JSON_TRUE: return true;
	case JSON_ARRAY: return json_array_size(v) > 0;
	case JSON_OBJECT: return json_object_size(v) > 0;
	default: return false;
	}
}

/* _get_legal_inputs(): an option's name or its alias. */
static const struct as_option *find_option(const struct as_option *opts, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(opts[i].name, name) || (opts[i].alias && !strcmp(opts[i].alias, name)))
			return &opts[i];
	return NULL;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* ", ".join(sorted(names)) */
static char *join_sorted(const char **names, size_t n)
{
	struct sbuf sb = { 0 };

	qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n; i++) {
		sb_puts(&sb, i ? ", " : "");
		sb_puts(&sb, names[i]);
	}
	return sb_take(&sb);
}

/* _set_defaults(): with_none false fills only the non-null defaults. */
static bool set_defaults(const struct as_option *opts, size_t n, json_t *params, bool with_none)
{
	for (size_t i = 0; i < n; i++) {
		json_t *def;

		if (json_object_get(params, opts[i].name) || (!opts[i].default_json && !with_none))
			continue;
		def = opts[i].default_json ? json_loads(opts[i].default_json, JSON_DECODE_ANY, NULL) : json_null();
		if (json_object_set_new(params, opts[i].name, def) < 0)
			return false;
	}
	return true;
}

/* check_required_arguments() */
static void check_required(struct check *c, const struct as_option *opts, size_t n, const json_t *params)
{
	const char **missing = calloc(n + 1, sizeof(*missing));
	size_t n_missing = 0;
	char *list;

	if (!missing) {
		c->oom = true;
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (opts[i].required && !json_object_get(params, opts[i].name))
			missing[n_missing++] = opts[i].name;
	list = n_missing ? join_sorted(missing, n_missing) : NULL;
	if (list)
		add_error(c, "missing required arguments: %s", list);
	else if (n_missing)
		c->oom = true;
	free(list);
	free(missing);
}

/* _validate_argument_types() */
static void check_types(struct check *c, const struct as_option *opts, size_t n, json_t *params)
{
	for (size_t i = 0; i < n; i++) {
		json_t *value = json_object_get(params, opts[i].name), *converted;
		char *why = NULL;

		if (!value || json_is_null(value))
			continue;
		converted = types[opts[i].type].convert(value, &why);
		if (converted) {
			if (json_object_set_new(params, opts[i].name, converted) < 0)
				c->oom = true;
			continue;
		}
		if (!why) {
			c->oom = true;
			continue;
		}
		add_error(c, "argument '%s' is of type %s and we were unable to convert to %s: %s", opts[i].name,
			  py_type(value), types[opts[i].type].name, why);
		free(why);
	}
}

static bool is_choice(const json_t *value, const char *const *choices)
{
	for (; *choices; choices++)
		if (json_is_string(value) && !strcmp(json_string_value(value), *choices))
			return true;
	return false;
}

/* _validate_argument_values() */
static void check_choices(struct check *c, const struct as_option *opts, size_t n, const json_t *params)
{
	for (size_t i = 0; i < n; i++) {
		const json_t *value = json_object_get(params, opts[i].name);
		struct sbuf choices = { 0 };
		char *list, *got;

		if (!opts[i].choices || !value || is_choice(value, opts[i].choices))
			continue;
		for (const char *const *ch = opts[i].choices; *ch; ch++) {
			sb_puts(&choices, ch == opts[i].choices ? "" : ", ");
			sb_puts(&choices, *ch);
		}
		list = sb_take(&choices);
		got = py_str_dup(value);
		if (list && got)
			add_error(c, "value of %s must be one of: %s, got: %s", opts[i].name, list, got);
		else
			c->oom = true;
		free(list);
		free(got);
	}
}

/* _get_unsupported_parameters(), and the message AnsibleModule makes of it:
 * the names sorted, then the aliases sorted in parentheses. */
static void check_unsupported(struct check *c, const struct as_option *opts, size_t n, const char *module_name,
			      const json_t *params)
{
	const char **unknown = calloc(json_object_size(params) + 1, sizeof(*unknown));
	const char **supported = calloc(n + 1, sizeof(*supported));
	const char **aliases = calloc(n + 1, sizeof(*aliases));
	char *unknown_list = NULL, *supported_list = NULL, *alias_list = NULL;
	size_t n_unknown = 0, n_aliases = 0;
	const char *key;
	json_t *value;

	if (!unknown || !supported || !aliases)
		goto oom;
	json_object_foreach((json_t *)params, key, value)
		if (!find_option(opts, n, key))
			unknown[n_unknown++] = key;
	for (size_t i = 0; i < n; i++) {
		supported[i] = opts[i].name;
		if (opts[i].alias)
			aliases[n_aliases++] = opts[i].alias;
	}
	if (n_unknown) {
		unknown_list = join_sorted(unknown, n_unknown);
		supported_list = join_sorted(supported, n);
		alias_list = join_sorted(aliases, n_aliases);
		if (!unknown_list || !supported_list || !alias_list)
			goto oom;
		add_error(c, "Unsupported parameters for (%s) module: %s. Supported parameters include: %s%s%s%s.",
			  module_name, unknown_list, supported_list, n_aliases ? " (" : "", alias_list,
			  n_aliases ? ")" : "");
	}
	goto out;
oom:
	c->oom = true;
out:
	free(unknown_list);
	free(supported_list);
	free(alias_list);
	free(unknown);
	free(supported);
	free(aliases);
}

/* _handle_aliases(): an alias given sets its option (the alias wins when
 * both are given, with a warning) and stays in params as given. */
static bool handle_aliases(const struct as_option *opts, size_t n, json_t *params, json_t *warnings)
{
	for (size_t i = 0; i < n; i++) {
		json_t *value = opts[i].alias ? json_object_get(params, opts[i].alias) : NULL;

		if (!value)
			continue;
		if (json_object_get(params, opts[i].name) &&
		    json_array_append_new(warnings, json_sprintf("Both option %s and its alias %s are set.",
								 opts[i].name, opts[i].alias)) < 0)
			return false;
		if (json_object_set(params, opts[i].name, value) < 0)
			return false;
	}
	return true;
}

/* ArgumentSpecValidator.validate(), in its order: aliases, no_log values,
 * defaults, required, types, choices, remaining defaults; the unsupported
 * parameters are found first but reported last. */
json_t *as_validate(const struct as_option *opts, size_t n, const char *module_name, json_t *params_in, json_t *no_log,
		    json_t *warnings, char **msg)
{
	json_t *params = json_copy(params_in);
	struct check c = { 0 }, unsupported = { 0 };

	*msg = NULL;
	if (!params)
		return NULL;
	if (!handle_aliases(opts, n, params, warnings))
		c.oom = true;
	for (size_t i = 0; i < n; i++) {
		const json_t *value = json_object_get(params, opts[i].name);

		if (opts[i].no_log && value && py_truthy(value) && !collect_no_log(no_log, value))
			c.oom = true;
	}
	check_unsupported(&unsupported, opts, n, module_name, params);
	if (!set_defaults(opts, n, params, false))
		c.oom = true;
	check_required(&c, opts, n, params);
	check_types(&c, opts, n, params);
	check_choices(&c, opts, n, params);
	if (!set_defaults(opts, n, params, true))
		c.oom = true;
	if (c.oom || unsupported.oom) {
		free(c.first);
		free(unsupported.first);
		json_decref(params);
		return NULL;
	}
	if (c.first) {
		*msg = c.first;
		free(unsupported.first);
	} else {
		*msg = unsupported.first;
	}
	return params;
}

/* _remove_values_conditions() for a string: NULL when memory ran out. */
static json_t *mask_string(const char *s, const json_t *no_log)
{
	struct sbuf sb = { 0 };
	json_t *secret, *out;
	size_t i;
	char *masked;

	json_array_foreach(no_log, i, secret)
		if (!strcmp(s, json_string_value(secret)))
			return json_string(NO_LOG_PLACEHOLDER);
	sb_puts(&sb, s);
	json_array_foreach(no_log, i, secret) {
		const char *omit = json_string_value(secret);
		struct sbuf next = { 0 };
		const char *p = sb.s, *hit;

		while ((hit = strstr(p, omit))) {
			sb_put(&next, p, (size_t)(hit - p));
			sb_puts(&next, "********");
			p = hit + strlen(omit);
		}
		sb_puts(&next, p);
		free(sb.s);
		sb = next;
	}
	masked = sb_take(&sb);
	out = masked ? json_string(masked) : NULL;
	free(masked);
	return out;
}

/* _remove_values_conditions() for a number, bool or null: hidden whole when
 * its str() holds a no_log value. */
static json_t *mask_scalar(json_t *value, const json_t *no_log)
{
	char *text = py_str_dup(value);
	json_t *secret;
	size_t i;

	if (!text)
		return NULL;
	json_array_foreach(no_log, i, secret) {
		if (strstr(text, json_string_value(secret))) {
			free(text);
			return json_string(NO_LOG_PLACEHOLDER);
		}
	}
	free(text);
	return json_incref(value);
}

json_t *as_remove_values(const json_t *value, const json_t *no_log)
{
	json_t *out, *item, *masked;
	const char *key;
	size_t i;

	switch (json_typeof(value)) {
	case JSON_STRING: return mask_string(json_string_value(value), no_log);
	case JSON_ARRAY:
		out = json_array();
		json_array_foreach(value, i, item) {
			masked = as_remove_values(item, no_log);
			/* append_new() drops masked when out is NULL */
			if (!masked || json_array_append_new(out, masked) < 0)
				goto oom;
		}
		return out;
	case JSON_OBJECT:
		out = json_object();
		json_object_foreach((json_t *)value, key, item) {
			masked = as_remove_values(item, no_log);
			if (!masked || json_object_set_new(out, key, masked) < 0)
				goto oom;
		}
		return out;
	default: return mask_scalar((json_t *)value, no_log);
	}
oom:
	json_decref(out);
	return NULL;
}
