// SPDX-License-Identifier: MIT
/* lbmember: the command line an operator types. The targets and the options
 * of lbm_open() come from the core's tables (lbm_driver_info(),
 * lbm_option_info()), so that this help cannot drift from what they take. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <unistd.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lbm_help.h"
#include "lbm_json.h"
#include "lbm_time.h"
#include "lbmember.h"

enum {
	EXIT_OK = 0,
	EXIT_FAILED = 1,
	EXIT_USAGE = 2
};

static const char usage_text[] = "Usage: lbmember [OPTIONS] TARGET list [POOL...]\n"
				 "       lbmember [OPTIONS] TARGET status POOL MEMBER\n"
				 "       lbmember [OPTIONS] TARGET enable|drain|disable POOL MEMBER [MEMBER...]\n"
				 "       lbmember [OPTIONS] TARGET save-state FILE\n"
				 "       lbmember [OPTIONS] TARGET watch [POOL...]\n";

static const char intro_text[] = "\n"
				 "Take load-balancer members out of rotation gently, and put them back, the same\n"
				 "way on LVS/IPVS, HAProxy and F5 BIG-IP LTM.\n";

static const char commands_text[] =
	"  POOL '-' means every pool that holds the member.\n"
	"\n"
	"Commands:\n"
	"  list [POOL...]      pools and members: state, health, weight, connections, and\n"
	"                      for those out of rotation how long, by whom and why\n"
	"  status POOL MEMBER  one member\n"
	"  watch [POOL...]     the list, redrawn in place on a terminal (one table per\n"
	"                      interval on a pipe); Ctrl-C quits\n"
	"  enable              take new connections again (LVS: restore the recorded weight)\n"
	"  drain               no new connections; existing ones continue (LVS: weight 0)\n"
	"  disable             out of rotation entirely (LVS: destination removed, and its\n"
	"                      connections dropped: drain first); HAProxy: maintenance\n"
	"  Asking for the state a member is already in changes nothing.\n"
	"  save-state FILE     HAProxy: write its server state to FILE for the next reload\n"
	"                      (server-state-file, load-server-state-from-file): an\n"
	"                      ExecReload hook; after a change, --state-file does it\n"
	"\n"
	"Options for enable, drain and disable:\n"
	"  --wait S            then wait up to S seconds: until active connections reach 0\n"
	"                      (drain, disable) or health is up (enable); exit 1 on timeout,\n"
	"                      the member left as set; exit 1 at once where the balancer\n"
	"                      gives no connection count\n"
	"  --weight N          with enable: set this weight (0-65535)\n"
	"  --min-enabled N     refuse, touching nothing, a change that takes a member out of\n"
	"                      rotation when fewer than N members of its pool would stay in\n"
	"                      it (default 1; 0 allows emptying a pool); enabling is never\n"
	"                      refused\n"
	"  --dry-run           say what would change, change nothing\n"
	"  --reason TEXT       why (drain, disable): kept with who and when in the state\n"
	"                      directory, shown by list and status; enable clears it\n"
	"  --force-after S     with --wait, drain or disable: after S seconds, cut the\n"
	"                      connections still open where the balancer can (HAProxy,\n"
	"                      F5; not LVS, whose disable drops them), then settle\n"
	"\n"
	"Options for watch:\n"
	"  --interval S        seconds between views (default 2)\n"
	"  --count N           quit after N views (default: until Ctrl-C)\n"
	"\n"
	"General options:\n"
	"  --json              machine-readable output on stdout (errors too)\n";

static const char end_text[] =
	"  -h, --help          this help\n"
	"  -V, --version       the version\n"
	"\n"
	"Exit status: 0 done, 1 failed (nothing changed unless the output says so),\n"
	"2 usage error.\n"
	"\n"
	"Examples:\n"
	"  lbmember haproxy:///run/haproxy/admin.sock list\n"
	"  lbmember haproxy:///run/haproxy/admin.sock drain www web1 --wait 300 --reason 'kernel update'\n"
	"  lbmember haproxy:///run/haproxy/admin.sock watch www\n"
	"  lbmember lvs:// disable tcp:198.51.100.11:80 198.51.100.78\n"
	"  LBM_F5_USER=admin lbmember --password-file ~/.f5pass f5://bigip.example drain /Common/web 192.0.2.5:80\n";

static void print_help(void)
{
	const struct lbm_driver_info *d;
	const struct lbm_option_info *o;

	fputs(usage_text, stdout);
	fputs(intro_text, stdout);
	fputs("\nTargets:\n", stdout);
	for (size_t i = 0; (d = lbm_driver_info(i)); i++) {
		printf("  %s\n      ", d->usage);
		lbm_help_wrap(stdout, d->summary, 6, 6);
	}
	printf("  TARGET,TARGET...\n      ");
	lbm_help_wrap(stdout,
		      "the balancers of an HA pair as one: planned on all before any is touched, changed on "
		      "all, put back on all when one fails; every line names its balancer",
		      6, 6);
	fputs("\nPools and members:\n", stdout);
	for (size_t i = 0; (d = lbm_driver_info(i)); i++) {
		printf("  %-8s ", d->name);
		lbm_help_wrap(stdout, d->naming, 11, 11);
	}
	fputs(commands_text, stdout);
	for (size_t i = 0; (o = lbm_option_info(i)); i++) {
		char name[64], line[512];
		int len;

		if (o->type == LBM_OPTION_SECRET)
			continue; /* never on a command line */
		lbm_help_dashed(name, sizeof(name), o->name);
		len = snprintf(line, sizeof(line), "  --%s%s%s", name, o->value ? " " : "", o->value ? o->value : "");
		printf("%-22s", line);
		if (len > 21)
			printf("\n%22s", "");
		lbm_help_option(line, sizeof(line), o);
		lbm_help_wrap(stdout, line, 22, 22);
	}
	fputs(end_text, stdout);
}

struct cli {
	struct lbm_options opt;
	struct lbm_change how;
	int json;
	int dry_run;
	int state_opts; /* an enable/drain/disable option was given */
	int watch_opts; /* a watch option was given */
	double interval;
	unsigned count;
	bool live;			/* stdout is a terminal that takes escape sequences, and not --json */
	const struct lbm_result *drawn; /* the result whose wait lines are on screen */
	int drawn_lines;
	int multi;   /* several balancers: every line names its own */
	char **told; /* the balancers whose outcomes were printed while the change went on */
	size_t n_told;
	double waited; /* how long the last wait took */
};

static int usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage(const char *fmt, ...)
{
	va_list ap;

	fputs("lbmember: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n", stderr);
	fputs(usage_text, stderr);
	fputs("Try 'lbmember --help' for more information.\n", stderr);
	return EXIT_USAGE;
}

static int parse_seconds(const char *opt, const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	if (errno || end == s || *end || !(*out >= 0) || isinf(*out))
		return usage("%s expects a number of seconds, got '%s'", opt, s);
	return 0;
}

static int parse_count(const char *opt, const char *s, unsigned max, unsigned *out)
{
	unsigned long value;
	char *end;

	errno = 0;
	value = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || *s == '+' || value > max)
		return usage("%s expects a whole number from 0 to %u, got '%s'", opt, max, s);
	*out = (unsigned)value;
	return 0;
}

static void print_json(json_t *obj)
{
	char *text = json_dumps(obj, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	if (text)
		puts(text);
	free(text);
	json_decref(obj);
}

static int fail(const struct cli *cli, struct lbm *lb, int code)
{
	if (cli->json)
		print_json(json_pack("{s:o}", "error", lbm_json_error(code, lbm_errmsg(lb))));
	else
		fprintf(stderr, "lbmember: %s\n", lbm_errmsg(lb));
	return EXIT_FAILED;
}

/* A count as text without printf: "-" when the balancer does not tell. */
static const char *count_text(long value, char buf[24])
{
	char *p = buf + 23;

	if (value < 0)
		return "-";
	*p = '\0';
	do
		*--p = (char)('0' + value % 10);
	while ((value /= 10));
	return p;
}

/* "ADDR:PORT", "[ADDR]:PORT" or "-"; buf holds LBM_ADDRESS_MAX + 16. */
static const char *format_address(char *buf, const struct lbm_member *m)
{
	char port[24];
	const char *digits = count_text(m->port, port);
	bool v6 = strchr(m->address, ':') != NULL;
	size_t len = strlen(m->address);
	char *out = buf;

	if (!len)
		return "-";
	if (v6)
		*out++ = '[';
	memcpy(out, m->address, len);
	out += len;
	if (v6)
		*out++ = ']';
	*out++ = ':';
	memcpy(out, digits, strlen(digits) + 1);
	return buf;
}

/* The status, and what holds the member out; the buffer only when needed. */
static const char *status_text(char **buf, const struct lbm_member *m)
{
	size_t len;

	if (!m->held)
		return m->status;
	len = strlen(m->status) + strlen(m->held) + 16;
	free(*buf);
	*buf = malloc(len);
	if (!*buf)
		return m->status;
	snprintf(*buf, len, "%s (held: %s)", m->status, m->held);
	return *buf;
}

/* Columns as wide as their widest cell, like ipvsadm -Ln. */
enum {
	COL_BALANCER,
	COL_POOL,
	COL_MEMBER,
	COL_ADDRESS,
	COL_STATE,
	COL_HEALTH,
	COL_WEIGHT,
	COL_ACTIVE,
	COL_INACTIVE,
	COL_OUT,
	COL_BY,
	COL_STATUS,
	COL_REASON,
	COLS
};
static const char *const headers[COLS] = { "BALANCER", "POOL",	   "MEMBER", "ADDRESS", "STATE",  "HEALTH", "WEIGHT",
					   "ACTIVE",   "INACTIVE", "OUT",    "BY",	"STATUS", "REASON" };

struct row {
	const char *cell[COLS];
	char address[LBM_ADDRESS_MAX + 16];
	char counts[3][24];
	char age[24];
	char *status; /* when a member is held: status and why, for status_text() */
};

/* How long the member has been out of rotation: "unknown" without a
 * record (taken out by other means), "-" when it is in. */
static const char *age_text(const struct lbm_member *m, long long now, char buf[24])
{
	if (m->since) {
		lbm_time_age(now - m->since, buf, 24);
		return buf;
	}
	return m->state == LBM_STATE_ENABLED ? "-" : "unknown";
}

/* Cells point into the member or the row, formatted without printf: a
 * table of 10,000 members is mostly this, twice (sizing, then printing). */
static void member_row(const struct lbm_pool *pool, const struct lbm_member *m, long long now, struct row *r)
{
	r->cell[COL_BALANCER] = pool->balancer ? pool->balancer : "";
	r->cell[COL_POOL] = pool->name;
	r->cell[COL_MEMBER] = m->name;
	r->cell[COL_ADDRESS] = format_address(r->address, m);
	r->cell[COL_STATE] = lbm_state_name(m->state);
	r->cell[COL_HEALTH] = lbm_health_name(m->health);
	r->cell[COL_WEIGHT] = count_text(m->weight, r->counts[0]);
	r->cell[COL_ACTIVE] = count_text(m->active, r->counts[1]);
	r->cell[COL_INACTIVE] = count_text(m->inactive, r->counts[2]);
	r->cell[COL_OUT] = age_text(m, now, r->age);
	r->cell[COL_BY] = m->by ? m->by : "-";
	r->cell[COL_STATUS] = status_text(&r->status, m);
	r->cell[COL_REASON] = m->reason && *m->reason ? m->reason : "-";
}

/* printf's "%-*s  " without printf: the rows are most of a listing's
 * time. line holds at least width + 2 bytes more. */
static size_t put_cell(char *line, const char *text, int width)
{
	size_t len = strlen(text);
	size_t pad = (size_t)width > len ? (size_t)width - len : 0;

	memcpy(line, text, len);
	memset(line + len, ' ', pad + 2);
	return len + pad + 2;
}

/* With several balancers, the first column says whose each row is; the
 * reason, free text, comes last. */
static int print_table(const struct lbm_listing *l, int multi)
{
	const int first = multi ? COL_BALANCER : COL_POOL;
	long long now = (long long)time(NULL);
	struct row r = { 0 };
	char *line;
	size_t linecap = 0;
	int w[COLS];

	for (int c = 0; c < COLS; c++)
		w[c] = (int)strlen(headers[c]);
	for (size_t p = 0; p < l->n; p++) {
		for (size_t i = 0; i < l->pools[p].n_members; i++) {
			member_row(&l->pools[p], &l->pools[p].members[i], now, &r);
			for (int c = 0; c < COLS; c++)
				if ((int)strlen(r.cell[c]) > w[c])
					w[c] = (int)strlen(r.cell[c]);
		}
		if ((int)strlen(l->pools[p].balancer) > w[COL_BALANCER])
			w[COL_BALANCER] = (int)strlen(l->pools[p].balancer);
	}
	for (int c = first; c < COLS; c++)
		linecap += (size_t)w[c] + 2;
	line = malloc(linecap);
	if (!line) {
		free(r.status);
		return -1;
	}
	for (int c = first; c < COL_REASON; c++)
		printf("%-*s  ", w[c], headers[c]);
	printf("%s\n", headers[COL_REASON]);
	for (size_t p = 0; p < l->n; p++) {
		const struct lbm_pool *pool = &l->pools[p];

		if (!pool->n_members) {
			if (multi)
				printf("%-*s  ", w[COL_BALANCER], pool->balancer);
			printf("%-*s  (no members)%s%s\n", w[COL_POOL], pool->name, pool->detail[0] ? "  " : "",
			       pool->detail);
			continue;
		}
		for (size_t i = 0; i < pool->n_members; i++) {
			size_t len = 0;

			member_row(pool, &pool->members[i], now, &r);
			for (int c = first; c < COL_REASON; c++)
				len += put_cell(line + len, r.cell[c], w[c]);
			fwrite(line, 1, len, stdout);
			fputs(r.cell[COL_REASON], stdout);
			putchar('\n');
		}
	}
	free(line);
	free(r.status);
	return 0;
}

static int cmd_save_state(const struct cli *cli, struct lbm *lb, char **args, int nargs)
{
	int ret;

	if (nargs != 1)
		return usage("save-state takes FILE");
	ret = lbm_save_state(lb, args[0]);
	if (ret < 0)
		return fail(cli, lb, ret);
	if (cli->json)
		print_json(json_pack("{s:s}", "saved", args[0]));
	return EXIT_OK;
}

static int cmd_list(const struct cli *cli, struct lbm *lb, char **args, int nargs)
{
	struct lbm_listing l;
	int ret = lbm_pools(lb, nargs ? (const char *const *)args : NULL, (size_t)nargs, &l);

	if (ret < 0)
		return fail(cli, lb, ret);
	if (cli->json)
		print_json(json_pack("{s:o}", "pools", lbm_json_pools(&l)));
	else if (print_table(&l, cli->multi) < 0)
		ret = -1;
	lbm_listing_free(&l);
	if (ret < 0) {
		fprintf(stderr, "lbmember: out of memory\n");
		return EXIT_FAILED;
	}
	return EXIT_OK;
}

static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* Sleeps until the next view, or until Ctrl-C. */
static void nap(double s)
{
	struct timespec ts = { .tv_sec = (time_t)s, .tv_nsec = (long)((s - (double)(time_t)s) * 1e9) };

	while (!interrupted && nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* One list per view: on a terminal redrawn in place from the top, like
 * top; on a pipe, one table after another. Ctrl-C is the way out, exit 0;
 * with --count, the last view's success is the exit status. */
static int cmd_watch(const struct cli *cli, struct lbm *lb, char **args, int nargs)
{
	struct sigaction sa = { .sa_handler = on_interrupt };
	int ret = 0;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	for (unsigned n = 0; !interrupted && (!cli->count || n < cli->count); n++) {
		struct lbm_listing l;
		char when[32];

		if (n)
			nap(cli->interval);
		if (interrupted)
			break;
		ret = lbm_pools(lb, nargs ? (const char *const *)args : NULL, (size_t)nargs, &l);
		lbm_time_iso8601((long long)time(NULL), when, sizeof(when));
		if (cli->live)
			fputs("\033[H\033[J", stdout);
		else if (n)
			putchar('\n');
		fputs(when, stdout);
		for (size_t i = 0; i < lbm_balancers(lb); i++)
			printf("%s%s", i ? "," : "  ", lbm_balancer(lb, i));
		printf("  every %g s%s\n", cli->interval, cli->live ? "  (Ctrl-C to quit)" : "");
		if (ret < 0)
			printf("lbmember: %s\n", lbm_errmsg(lb));
		else if (print_table(&l, cli->multi) < 0)
			ret = LBM_ENOMEM;
		lbm_listing_free(&l);
		fflush(stdout);
	}
	return ret < 0 && !interrupted ? EXIT_FAILED : EXIT_OK;
}

/* The one member of a pool that lbm_member_get() gives, with its pool and balancer. */
static json_t *status_json(const struct lbm_pool *pool)
{
	return json_pack("{s:o, s:o, s:o}", "balancer", lbm_json_text(pool->balancer), "pool",
			 lbm_json_text(pool->name), "member", lbm_json_member(&pool->members[0]));
}

static int cmd_status(const struct cli *cli, struct lbm *lb, char **args, int nargs)
{
	long long now = (long long)time(NULL);
	struct row r = { 0 };
	struct lbm_listing l;
	int ret;

	if (nargs != 2)
		return usage("status takes POOL MEMBER");
	ret = lbm_member_get(lb, args[0], args[1], &l);
	if (ret < 0)
		return fail(cli, lb, ret);
	if (cli->json && !cli->multi) {
		print_json(status_json(&l.pools[0]));
	} else if (cli->json) {
		/* Several balancers: one entry each. */
		json_t *members = json_array();

		for (size_t p = 0; p < l.n; p++)
			json_array_append_new(members, status_json(&l.pools[p]));
		print_json(json_pack("{s:o}", "members", members));
	}
	for (size_t p = 0; !cli->json && p < l.n; p++) {
		const struct lbm_member *m = &l.pools[p].members[0];

		member_row(&l.pools[p], m, now, &r);
		if (p)
			putchar('\n');
		for (int c = cli->multi ? COL_BALANCER : COL_MEMBER; c < COLS; c++) {
			if (c == COL_POOL)
				continue;
			printf("%-9s %s\n", headers[c], r.cell[c]);
			if (c == COL_BY && m->since) {
				char since[32];

				lbm_time_iso8601(m->since, since, sizeof(since));
				printf("%-9s %s\n", "SINCE", since);
			}
		}
	}
	free(r.status);
	lbm_listing_free(&l);
	return EXIT_OK;
}

/* "draining", or "enabled weight 3" when the weight is part of the change. */
static void describe(char *buf, size_t size, const struct lbm_member *m, int with_weight)
{
	if (with_weight && m->weight >= 0)
		snprintf(buf, size, "%s weight %d", lbm_state_name(m->state), m->weight);
	else
		snprintf(buf, size, "%s", lbm_state_name(m->state));
}

static bool was_told(const struct cli *cli, const char *balancer)
{
	for (size_t i = 0; i < cli->n_told; i++)
		if (!strcmp(cli->told[i], balancer))
			return true;
	return false;
}

/* One line per member, saying truly which thing happened; with several
 * balancers, each line starts with its own. Those already told are skipped. */
static void print_outcomes(struct cli *cli, const struct lbm_result *res, bool tell)
{
	char before[64], after[64];

	for (size_t i = 0; i < res->n; i++) {
		const struct lbm_outcome *o = &res->outcomes[i];
		int weight_changed = o->before.weight != o->after.weight;
		const char *b = cli->multi ? o->balancer : "", *sep = cli->multi ? ": " : "";

		if (was_told(cli, o->balancer))
			continue;
		describe(before, sizeof(before), &o->before, weight_changed);
		describe(after, sizeof(after), &o->after, weight_changed);
		switch (o->result) {
		case LBM_OUTCOME_UNCHANGED:
			printf("%s%s%s/%s: already %s\n", b, sep, o->pool, o->before.name, before);
			break;
		case LBM_OUTCOME_WOULD_APPLY:
			printf("%s%s%s/%s: would change %s -> %s\n", b, sep, o->pool, o->before.name, before, after);
			break;
		case LBM_OUTCOME_NOT_APPLIED:
			printf("%s%s%s/%s: not changed, still %s: the call failed before this change\n", b, sep,
			       o->pool, o->before.name, before);
			break;
		case LBM_OUTCOME_APPLIED:
			if (o->changed)
				printf("%s%s%s/%s: %s -> %s\n", b, sep, o->pool, o->before.name, before, after);
			else
				printf("%s%s%s/%s: asked for %s, but it is still %s\n", b, sep, o->pool, o->before.name,
				       lbm_state_name(cli->how.state), after);
			break;
		case LBM_OUTCOME_UNDONE:
			/* Not "on another balancer": the one that failed puts back its own too. */
			printf("%s%s%s/%s: put back as it was, %s, because the change failed\n", b, sep, o->pool,
			       o->before.name, before);
			break;
		case LBM_OUTCOME_NOT_UNDONE:
			printf("%s%s%s/%s: %s -> %s, and could not be put back\n", b, sep, o->pool, o->before.name,
			       before, after);
			break;
		}
	}
	for (size_t i = 0; tell && i < res->n; i++) {
		char **grown;

		if (was_told(cli, res->outcomes[i].balancer) ||
		    !(grown = realloc(cli->told, (cli->n_told + 1) * sizeof(*grown))))
			continue;
		cli->told = grown;
		if ((cli->told[cli->n_told] = strdup(res->outcomes[i].balancer)))
			cli->n_told++;
	}
}

/* Lines of a wait on a terminal: more members than this end in a count. */
#define LIVE_LINES 20

static void live_line(const struct cli *cli, const struct lbm_outcome *o, const struct lbm_progress *p)
{
	const char *b = cli->multi ? o->balancer : "", *sep = cli->multi ? ": " : "";

	printf("\r\033[K  %s%s%s/%s: ", b, sep, o->pool, o->after.name);
	if (!o->waiting)
		fputs("settled", stdout);
	else if (o->after.state == LBM_STATE_ENABLED)
		fputs("health still down", stdout);
	else
		printf("%ld connection%s open", o->after.active, o->after.active == 1 ? "" : "s");
	if (o->cut)
		printf(", %ld cut", o->cut);
	printf(", waited %.0f s, %.0f s left\n", p->waited_s, p->left_s);
}

/* On a terminal, one line per member kept up to date in place: the
 * cursor goes back up over the lines drawn for this result last time. */
static void draw_live(struct cli *cli, const struct lbm_progress *p)
{
	const struct lbm_result *res = p->result;
	size_t shown = res->n < LIVE_LINES ? res->n : LIVE_LINES - 1;

	if (cli->drawn == res && cli->drawn_lines)
		printf("\033[%dA", cli->drawn_lines);
	cli->drawn = res;
	for (size_t i = 0; i < shown; i++)
		live_line(cli, &res->outcomes[i], p);
	if (shown < res->n) {
		size_t waiting = 0;

		for (size_t i = shown; i < res->n; i++)
			waiting += res->outcomes[i].waiting != 0;
		printf("\r\033[K  and %zu more, %zu of them still waited for\n", res->n - shown, waiting);
	}
	cli->drawn_lines = (int)(shown + (shown < res->n));
}

/* A person waiting minutes for a drain should see at once that it was done,
 * and what is being waited for: the core says so once the change is made,
 * then after every look at the balancer. */
static void on_progress(const struct lbm_progress *p, void *arg)
{
	struct cli *cli = arg;

	cli->waited = p->waited_s;
	if (!p->result->n)
		return;
	if (!was_told(cli, p->result->outcomes[0].balancer)) {
		print_outcomes(cli, p->result, true);
		if (p->waiting)
			printf("waiting up to %g s for %s\n", cli->how.wait_s,
			       cli->how.state == LBM_STATE_ENABLED ? "health checks to pass"
								   : "active connections to finish");
	}
	if (cli->live && cli->how.wait_s > 0 && (p->waiting || cli->drawn == p->result))
		draw_live(cli, p);
	fflush(stdout);
}

/* What force_after did, member by member. */
static void print_cuts(const struct cli *cli, const struct lbm_result *res)
{
	for (size_t i = 0; i < res->n; i++) {
		const struct lbm_outcome *o = &res->outcomes[i];

		if (o->cut)
			printf("%s%s%s/%s: cut %ld connection%s still open after %g s\n", cli->multi ? o->balancer : "",
			       cli->multi ? ": " : "", o->pool, o->before.name, o->cut, o->cut == 1 ? "" : "s",
			       cli->how.force_after_s);
	}
}

static void print_result(struct cli *cli, struct lbm *lb, const struct lbm_result *res, int ret)
{
	if (cli->json) {
		json_t *obj = json_pack("{s:b, s:b, s:o, s:o}", "changed", res->changed, "dry_run", cli->dry_run,
					"outcomes", lbm_json_outcomes(res), "warnings", lbm_json_warnings(res));

		if (ret < 0)
			json_object_set_new(obj, "error", lbm_json_error(ret, lbm_errmsg(lb)));
		print_json(obj);
		return;
	}
	print_cuts(cli, res);
	if (cli->n_told && ret == 0 && cli->how.wait_s > 0)
		printf("settled after %.1f s\n", cli->waited);
	print_outcomes(cli, res, false);
	for (size_t i = 0; i < res->n_warnings; i++)
		fprintf(stderr, "lbmember: warning: %s\n", res->warnings[i]);
	if (ret < 0)
		fprintf(stderr, "lbmember: %s\n", lbm_errmsg(lb));
}

static int cmd_set(struct cli *cli, struct lbm *lb, char **args, int nargs)
{
	struct lbm_result res;
	struct lbm_ref *refs;
	int ret;

	if (nargs < 2)
		return usage("%s takes POOL MEMBER [MEMBER...]", args[-1]);
	refs = calloc((size_t)nargs - 1, sizeof(*refs));
	if (!refs)
		return fail(cli, NULL, LBM_ENOMEM);
	for (int i = 1; i < nargs; i++)
		refs[i - 1] = (struct lbm_ref){ .pool = args[0], .member = args[i] };
	if (!cli->json) {
		cli->how.progress = on_progress;
		cli->how.progress_arg = cli;
	}
	ret = lbm_set_state(lb, refs, (size_t)nargs - 1, &cli->how, &res);
	print_result(cli, lb, &res, ret);
	lbm_result_free(&res);
	free(refs);
	return ret < 0 ? EXIT_FAILED : EXIT_OK;
}

enum {
	OPT_JSON = 256,
	OPT_WAIT,
	OPT_WEIGHT,
	OPT_MIN_ENABLED,
	OPT_DRY_RUN,
	OPT_REASON,
	OPT_FORCE_AFTER,
	OPT_INTERVAL,
	OPT_COUNT,
	OPT_TABLE = 1000, /* + the index of an option of lbm_option_info() */
	OPT_TABLE_ALIAS = 2000,
};

static const struct option own_options[] = {
	{ "json", no_argument, NULL, OPT_JSON },
	{ "wait", required_argument, NULL, OPT_WAIT },
	{ "weight", required_argument, NULL, OPT_WEIGHT },
	{ "min-enabled", required_argument, NULL, OPT_MIN_ENABLED },
	{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
	{ "reason", required_argument, NULL, OPT_REASON },
	{ "force-after", required_argument, NULL, OPT_FORCE_AFTER },
	{ "interval", required_argument, NULL, OPT_INTERVAL },
	{ "count", required_argument, NULL, OPT_COUNT },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
};

/* There is no option for a secret: say what to use instead. */
static int no_secret(const struct lbm_option_info *o)
{
	char file[64], dashes[64];
	const struct lbm_option_info *f;

	snprintf(file, sizeof(file), "%s_file", o->name);
	f = lbm_option_find(file);
	lbm_help_dashed(dashes, sizeof(dashes), file);
	return usage("there is no --%s, since every user can read a command line: use --%s %s or %s", o->name, dashes,
		     f && f->value ? f->value : "FILE", f && f->fallback ? f->fallback : "the environment");
}

static int table_option(struct cli *cli, const struct lbm_option_info *o, const char *text)
{
	char err[256];

	if (o->type == LBM_OPTION_SECRET)
		return no_secret(o);
	if (lbm_option_parse(&cli->opt, o, o->type == LBM_OPTION_FLAG ? "true" : text, err, sizeof(err)) < 0)
		return usage("--%s", err);
	return 0;
}

/* Returns -1 to go on, or an exit status. */
static int parse_options(struct cli *cli, int argc, char **argv)
{
	struct option *options = lbm_help_getopt(own_options, sizeof(own_options) / sizeof(own_options[0]), NULL,
						 OPT_TABLE, OPT_TABLE_ALIAS);
	int c, ret = -1;

	if (!options) {
		fputs("lbmember: out of memory\n", stderr);
		return EXIT_FAILED;
	}
	opterr = 0;
	while (ret < 0 && (c = getopt_long(argc, argv, ":hV", options, NULL)) != -1) {
		switch (c) {
		case 'h':
			print_help();
			ret = EXIT_OK;
			break;
		case 'V':
			printf("lbmember %s\n", LBM_VERSION);
			ret = EXIT_OK;
			break;
		case OPT_JSON: cli->json = 1; break;
		case OPT_WAIT:
			cli->state_opts = 1;
			if (parse_seconds("--wait", optarg, &cli->how.wait_s))
				ret = EXIT_USAGE;
			break;
		case OPT_WEIGHT:
			cli->state_opts = 1;
			cli->how.flags |= LBM_CHANGE_HAS_WEIGHT;
			if (parse_count("--weight", optarg, LBM_WEIGHT_MAX, &cli->how.weight))
				ret = EXIT_USAGE;
			break;
		case OPT_MIN_ENABLED:
			cli->state_opts = 1;
			cli->how.flags |= LBM_CHANGE_HAS_MIN_ENABLED;
			if (parse_count("--min-enabled", optarg, 1000000, &cli->how.min_enabled))
				ret = EXIT_USAGE;
			break;
		case OPT_DRY_RUN:
			cli->state_opts = 1;
			cli->dry_run = 1;
			cli->how.flags |= LBM_CHANGE_DRY_RUN;
			break;
		case OPT_REASON:
			cli->state_opts = 1;
			cli->how.reason = optarg;
			break;
		case OPT_FORCE_AFTER:
			cli->state_opts = 1;
			if (parse_seconds("--force-after", optarg, &cli->how.force_after_s))
				ret = EXIT_USAGE;
			break;
		case OPT_INTERVAL:
			cli->watch_opts = 1;
			if (parse_seconds("--interval", optarg, &cli->interval))
				ret = EXIT_USAGE;
			else if (cli->interval < 0.1)
				ret = usage("--interval expects at least 0.1 seconds, got '%s'", optarg);
			break;
		case OPT_COUNT:
			cli->watch_opts = 1;
			if (parse_count("--count", optarg, 1000000, &cli->count))
				ret = EXIT_USAGE;
			break;
		case ':': ret = usage("option '%s' needs a value", argv[optind - 1]); break;
		case '?': ret = usage("unknown option '%s'", argv[optind - 1]); break;
		default:
			if (c >= OPT_TABLE && c < OPT_TABLE_ALIAS + 1000)
				ret = table_option(cli, lbm_option_info((size_t)(c % 1000)), optarg) ? EXIT_USAGE : -1;
			break;
		}
	}
	free(options);
	return ret;
}

int main(int argc, char **argv)
{
	struct cli cli = { .opt = LBM_OPTIONS_INIT, .how = LBM_CHANGE_INIT, .interval = 2 };
	enum lbm_state state = LBM_STATE_UNKNOWN;
	struct lbm *lb;
	const char *target, *command;
	int ret, nargs;

	ret = parse_options(&cli, argc, argv);
	if (ret >= 0)
		return ret;
	if (argc - optind < 2)
		return usage(argc - optind ? "no command given after the target" : "no target given");
	target = argv[optind];
	command = argv[optind + 1];
	nargs = argc - optind - 2;
	/* The verbs, as the core spells states; "enabled" works too. */
	if (strcmp(command, "list") && strcmp(command, "status") && strcmp(command, "save-state") &&
	    strcmp(command, "watch") && lbm_state_parse(command, &state) < 0)
		return usage("unknown command '%s': expected list, status, enable, drain, disable, watch or save-state",
			     command);
	if (state == LBM_STATE_UNKNOWN && cli.state_opts)
		return usage("--wait, --weight, --min-enabled, --dry-run, --reason and --force-after go with enable, "
			     "drain or disable");
	if (strcmp(command, "watch") && cli.watch_opts)
		return usage("--interval and --count go with watch");
	if ((cli.how.flags & LBM_CHANGE_HAS_WEIGHT) && state != LBM_STATE_ENABLED)
		return usage("--weight goes with enable only");
	if (cli.how.force_after_s > 0 && (state == LBM_STATE_ENABLED || !(cli.how.force_after_s < cli.how.wait_s)))
		return usage("--force-after goes with drain or disable, and --wait longer than it: it cuts the "
			     "connections the wait still waits for");
	cli.how.state = state;
	cli.live = !cli.json && isatty(STDOUT_FILENO) && getenv("TERM") && strcmp(getenv("TERM"), "dumb");

	ret = lbm_open(&lb, target, &cli.opt);
	cli.multi = lb && lbm_balancers(lb) > 1;
	if (ret < 0)
		ret = fail(&cli, lb, ret);
	else if (!strcmp(command, "list"))
		ret = cmd_list(&cli, lb, argv + optind + 2, nargs);
	else if (!strcmp(command, "status"))
		ret = cmd_status(&cli, lb, argv + optind + 2, nargs);
	else if (!strcmp(command, "save-state"))
		ret = cmd_save_state(&cli, lb, argv + optind + 2, nargs);
	else if (!strcmp(command, "watch"))
		ret = cmd_watch(&cli, lb, argv + optind + 2, nargs);
	else
		ret = cmd_set(&cli, lb, argv + optind + 2, nargs);
	lbm_close(lb);
	for (size_t i = 0; i < cli.n_told; i++)
		free(cli.told[i]);
	free(cli.told);
	return ret;
}
