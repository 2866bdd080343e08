// SPDX-License-Identifier: MIT
/* check_lb_members: a Nagios/Icinga plugin that counts load-balancer members
 * out of rotation, per pool, following the Monitoring Plugins Development
 * Guidelines (exit codes, ranges, perfdata, -t, -v, -h, -V). */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "lbm_help.h"
#include "lbm_time.h"
#include "lbmember.h"

#define PROGNAME "check_lb_members"
#define DEFAULT_TIMEOUT 10

enum {
	OPT_PERCENT = 256,
	OPT_COUNT,
	OPT_MIN_ENABLED,
	OPT_MAX_OUT_TIME,
	OPT_TABLE = 1000 /* + an option of lbm_option_info() */
};

/* The core's options but timeout, which -t bounds the whole run with, and
 * those only a change uses: a check changes nothing. */
static bool offered(const struct lbm_option_info *o)
{
	return strcmp(o->name, "timeout") && !o->change_only;
}

/* What the plugin adds to the core's help of one of its options. */
static const char *help_extra(const struct lbm_option_info *o)
{
	if (!strcmp(o->name, "state_dir"))
		return "The plugin reads the records there (--max-out-time, -v), kept per TARGET as written: give "
		       "the TARGET lbmember was given. The monitoring user must be able to read them: lbmember "
		       "creates DIR/out 0755 and each record 0644.";
	return NULL;
}

struct args {
	const char *target;
	char *targets; /* -T's, joined */
	const char **pools;
	size_t n_pools;
	unsigned timeout;
	enum check_status timeout_state; /* -t SECONDS:STATE: an unreachable or silent balancer */
	struct check_config cfg;
	struct lbm_options opt;
};

/* What the run is doing, as SIGALRM will report it: set before each stage. */
static const char *volatile alarm_msg;
static volatile sig_atomic_t alarm_status = CHECK_UNKNOWN;

static void on_alarm(int sig)
{
	const char *msg = alarm_msg;

	(void)sig;
	if (write(STDOUT_FILENO, msg, strlen(msg)) < 0)
		_exit(CHECK_UNKNOWN);
	_exit(alarm_status);
}

static void print_usage(FILE *f)
{
	const struct lbm_option_info *o;
	int col = 9;

	fputs("Usage: " PROGNAME " -T TARGET [-P POOL]... [-w RANGE] [-c RANGE] [--percent]\n"
	      "         [--count disabled,draining,down] [--min-enabled N]\n"
	      "         [--max-out-time DURATION] [-t SECONDS[:STATE]] [-v]...\n"
	      "        ",
	      f);
	for (size_t i = 0; (o = lbm_option_info(i)); i++) {
		char name[64], word[96];
		int len;

		if (!offered(o) || o->type == LBM_OPTION_SECRET)
			continue;
		lbm_help_dashed(name, sizeof(name), o->name);
		len = snprintf(word, sizeof(word), " [--%s%s%s]", name, o->value ? " " : "", o->value ? o->value : "");
		if (col + len > 79) {
			fputs("\n        ", f);
			col = 8;
		}
		fputs(word, f);
		col += len;
	}
	fputs("\n       " PROGNAME " -h | -V\n", f);
}

static void print_help(void)
{
	const struct lbm_option_info *o;

	printf(PROGNAME " %s (lbmember)\n\n", LBM_VERSION);
	puts("Counts the members of each load-balancer pool that are out of rotation\n"
	     "(disabled, draining; optionally down), names them, and says how many are\n"
	     "still enabled. Works on LVS/IPVS, HAProxy and F5 BIG-IP LTM.\n");
	print_usage(stdout);
	puts("\nOptions:\n"
	     " -T, --target=TARGET\n"
	     "    The balancer (required): lvs:// or lvs://?netns=NAME,\n"
	     "    haproxy:///path/to/admin.sock, haproxy://127.0.0.1:9999, f5://HOST[:PORT].\n"
	     "    Again for each balancer of an HA pair: a member out of rotation on one\n"
	     "    and in rotation on another is WARNING; perfdata labels name the balancer.\n"
	     " -P, --pool=POOL\n"
	     "    A pool to check (repeatable; default: every pool). LVS tcp:VIP:PORT,\n"
	     "    udp:..., fwm:MARK; HAProxy backend name; F5 /Partition/pool.\n"
	     "    A pool that does not exist is CRITICAL.\n"
	     " -w, --warning=RANGE\n"
	     " -c, --critical=RANGE\n"
	     "    Nagios ranges applied to the number of members out of rotation in\n"
	     "    each pool (or to their percentage with --percent). When neither is\n"
	     "    given, -w 0 is used: any member out of rotation is a WARNING.\n"
	     " --percent\n"
	     "    Apply -w and -c to 100 * out / members instead of the count.\n"
	     " --count=LIST\n"
	     "    What counts as out of rotation, comma separated among disabled,\n"
	     "    draining and down (health checks failing). Default: disabled,draining\n"
	     " --min-enabled=N\n"
	     "    CRITICAL when a pool has fewer than N members enabled and not down\n"
	     "    (default 1: a pool with no member left is CRITICAL; 0 turns it off).\n"
	     " --max-out-time=DURATION\n"
	     "    WARNING when a member counted out of rotation (draining or disabled)\n"
	     "    has been out longer than DURATION: 90 or 90s, 30m, 12h, 2d. Its age,\n"
	     "    who took it out and why come from lbmember's record (see --state-dir)\n"
	     "    and are named. A member taken out by other means has no record: its\n"
	     "    age is unknown, the long output says so, and it is never counted as\n"
	     "    over. A CRITICAL pool stays CRITICAL.\n"
	     " -t, --timeout=SECONDS[:STATE]\n"
	     "    Bound on the whole run (default 10): UNKNOWN, naming the stage that\n"
	     "    timed out. Also bounds each exchange with the balancer. With STATE\n"
	     "    (OK, WARNING, CRITICAL or UNKNOWN, any case, or 0 to 3), a balancer\n"
	     "    that cannot be reached (no socket, connection refused) or times out\n"
	     "    is STATE instead of UNKNOWN, e.g. -t 10:CRITICAL; :STATE alone keeps\n"
	     "    10 s. Bad arguments stay UNKNOWN.");
	for (size_t i = 0; (o = lbm_option_info(i)); i++) {
		char name[64], text[512];

		if (!offered(o))
			continue;
		lbm_help_dashed(name, sizeof(name), o->name);
		if (o->type == LBM_OPTION_SECRET) {
			printf("    There is no --%s option: argv is visible to every local user.\n", name);
			continue;
		}
		printf(" %s--%s%s%s\n    ", strcmp(o->name, "user") ? "" : "-u, ", name, o->value ? "=" : "",
		       o->value ? o->value : "");
		lbm_help_option(text, sizeof(text), o);
		lbm_help_wrap(stdout, text, 4, 4);
		if (help_extra(o)) {
			fputs("    ", stdout);
			lbm_help_wrap(stdout, help_extra(o), 4, 4);
		}
	}
	puts(" -v, --verbose\n"
	     "    Once: every member with its state, health, weight, connections and\n"
	     "    the balancer's own status. Twice: the settings used. Three times:\n"
	     "    how long each stage took.\n"
	     " -h, --help     This help (exit 3, as the guidelines say).\n"
	     " -V, --version  The version (exit 3).\n");
	puts("Ranges ([@]start:end, endpoints inclusive): 10 alerts outside 0..10,\n"
	     "10: below 10, ~:10 above 10, 10:20 outside 10..20, @10:20 inside 10..20.\n"
	     "With --percent a range may end in % (-w 1:12%), meaning the same as\n"
	     "without; without --percent a % range is refused.\n\n"
	     "Classification: HAProxy MAINT (also via a tracked server or DNS\n"
	     "resolution) is disabled, DRAIN and NOLB are draining; LVS weight 0 is\n"
	     "draining; F5 user-disabled is draining, user-down (forced offline) is\n"
	     "disabled. Members that are enabled but down count only with --count down,\n"
	     "but never count as enabled for --min-enabled.\n\n"
	     "Output: LB_MEMBERS STATUS - summary|perfdata, then one line per pool,\n"
	     "worst first. Perfdata per pool: 'POOL enabled'=N;;MIN:;0;TOTAL and\n"
	     "'POOL out'=N;WARN;CRIT;0;TOTAL; with --percent also\n"
	     "'POOL out_pct'=P%;WARN;CRIT;0;100 (and 'POOL out' without thresholds).\n\n"
	     "Exit: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (bad arguments, balancer\n"
	     "unreachable, permission refused, timeout; -t SECONDS:STATE makes an\n"
	     "unreachable balancer and a timeout STATE).\n\n"
	     "LVS: the kernel requires CAP_NET_ADMIN even to read the IPVS table. Give\n"
	     "the monitoring user a sudo rule, e.g. in /etc/sudoers.d/check_lb_members:\n"
	     "  nagios ALL=(root) NOPASSWD: /usr/lib/nagios/plugins/check_lb_members\n"
	     "or a file capability on the binary:\n"
	     "  setcap cap_net_admin+ep /usr/lib/nagios/plugins/check_lb_members\n\n"
	     "Examples:\n"
	     "  " PROGNAME " -T haproxy:///run/haproxy/admin.sock -w 0 -c 2\n"
	     "  " PROGNAME " -T lvs:// -P tcp:198.51.100.10:80 --percent -w 25 -c 50\n"
	     "  LBM_F5_USER=monitor " PROGNAME " -T f5://bigip.example.net \\\n"
	     "      --password-file /etc/nagios/f5.pass -P /Common/web \\\n"
	     "      --count disabled,draining,down");
}

/* Failures of the plugin itself are UNKNOWN, said on stdout where Nagios reads. */
static int unknown(const char *fmt, const char *arg)
{
	char msg[2 * LBM_ERRMSG_MAX];

	snprintf(msg, sizeof(msg), fmt, arg);
	fputs("LB_MEMBERS UNKNOWN - ", stdout);
	check_put_text(stdout, msg);
	putchar('\n');
	return CHECK_UNKNOWN;
}

static int usage_error(const char *fmt, const char *arg)
{
	unknown(fmt, arg);
	print_usage(stdout);
	return CHECK_UNKNOWN;
}

static int parse_uint(const char *s, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (!*s || *end || errno || v > max || s[0] == '-' || s[0] == '+')
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* As the Monitoring Plugins read a state (mp_translate_state()): a name in
 * any case, or its exit code. -1 for anything else. */
static int parse_state(const char *s)
{
	static const char *const names[] = { "OK", "WARNING", "CRITICAL", "UNKNOWN" };

	for (int i = CHECK_OK; i <= CHECK_UNKNOWN; i++)
		if (!strcasecmp(s, names[i]) || (s[0] == '0' + i && !s[1]))
			return i;
	return -1;
}

/* The first len bytes of s: whole seconds, 1 to a day. */
static int parse_seconds(const char *s, size_t len, unsigned *out)
{
	char buf[16];

	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return parse_uint(buf, 86400, out) < 0 || !*out ? -1 : 0;
}

/* SECONDS[:STATE], or :STATE alone keeping the default seconds, as
 * check_nrpe and nagios-plugins' parse_timeout_string() take -t. */
static int parse_timeout(struct args *a, const char *text)
{
	const char *colon = strchr(text, ':');
	size_t len = colon ? (size_t)(colon - text) : strlen(text);
	int state = colon ? parse_state(colon + 1) : (int)a->timeout_state;

	if ((len || !colon) && parse_seconds(text, len, &a->timeout) < 0)
		return usage_error("-t/--timeout '%s': expected whole seconds, 1 to 86400, then optionally :STATE",
				   text);
	if (state < 0)
		return usage_error("-t/--timeout '%s': expected SECONDS[:STATE], STATE one of OK, WARNING, CRITICAL, "
				   "UNKNOWN (any case) or 0 to 3",
				   text);
	a->timeout_state = (enum check_status)state;
	return -1;
}

static int add_pool(struct args *a, const char *pool)
{
	const char **pools;

	for (size_t i = 0; i < a->n_pools; i++)
		if (!strcmp(a->pools[i], pool))
			return 0;
	pools = realloc(a->pools, (a->n_pools + 1) * sizeof(*pools));

	if (!pools)
		return -1;
	a->pools = pools;
	a->pools[a->n_pools++] = pool;
	return 0;
}

static int parse_range(struct nagios_range *r, bool *has, const char *text)
{
	char why[LBM_ERRMSG_MAX];

	if (nagios_range_parse(text, r, why, sizeof(why)) < 0)
		return usage_error("%s", why);
	*has = true;
	return 0;
}

static const struct option own_options[] = {
	{ "target", required_argument, NULL, 'T' },
	{ "pool", required_argument, NULL, 'P' },
	{ "warning", required_argument, NULL, 'w' },
	{ "critical", required_argument, NULL, 'c' },
	{ "percent", no_argument, NULL, OPT_PERCENT },
	{ "count", required_argument, NULL, OPT_COUNT },
	{ "min-enabled", required_argument, NULL, OPT_MIN_ENABLED },
	{ "max-out-time", required_argument, NULL, OPT_MAX_OUT_TIME },
	{ "timeout", required_argument, NULL, 't' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
};

static int table_option(struct args *a, const struct lbm_option_info *o, const char *text)
{
	char err[LBM_ERRMSG_MAX];

	if (o->type == LBM_OPTION_SECRET)
		return usage_error("%s", "no password option (argv is visible to every local user): "
					 "use --password-file FILE or $LBM_F5_PASSWORD");
	if (lbm_option_parse(&a->opt, o, o->type == LBM_OPTION_FLAG ? "true" : text, err, sizeof(err)) < 0)
		return usage_error("--%s", err);
	return -1;
}

/* -T again: another balancer of the same pools (an HA pair), as the core
 * takes several: separated by commas. */
static int add_target(struct args *a, const char *target)
{
	size_t len = a->target ? strlen(a->target) + 1 : 0;
	char *grown = realloc(a->targets, len + strlen(target) + 1);

	if (!grown)
		return -1;
	if (len)
		grown[len - 1] = ',';
	strcpy(grown + len, target);
	a->target = a->targets = grown;
	return 0;
}

static bool percent_range(const struct nagios_range *r, bool has)
{
	return has && r->percent;
}

/* A range ending in '%' read as a count would alert at numbers its writer
 * meant as percentages: refused rather than guessed, whatever the order of
 * the options. */
static int percent_needs_flag(const struct args *a)
{
	const struct check_config *c = &a->cfg;
	bool warn = percent_range(&c->warn, c->has_warn);
	char what[LBM_ERRMSG_MAX];

	if (c->percent || (!warn && !percent_range(&c->crit, c->has_crit)))
		return -1;
	snprintf(what, sizeof(what), "%s '%s'", warn ? "-w" : "-c", warn ? c->warn.text : c->crit.text);
	return usage_error("%s: a range ending in '%%' needs --percent (without it, -w and -c apply to the count "
			   "of members out of rotation)",
			   what);
}

/* -1 when the run goes on; otherwise the exit code. */
static int parse_args(int argc, char **argv, struct args *a)
{
	struct option *longopts =
		lbm_help_getopt(own_options, sizeof(own_options) / sizeof(own_options[0]), offered, OPT_TABLE, 0);
	int c, ret = -1;

	if (!longopts)
		return unknown("%s", "out of memory");
	opterr = 0;
	while (ret < 0 && (c = getopt_long(argc, argv, ":T:P:w:c:t:u:vhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'T':
			if (add_target(a, optarg) < 0)
				ret = unknown("%s", "out of memory");
			break;
		case 'P':
			if (add_pool(a, optarg) < 0)
				ret = unknown("%s", "out of memory");
			break;
		case 'w':
			if (parse_range(&a->cfg.warn, &a->cfg.has_warn, optarg))
				ret = CHECK_UNKNOWN;
			break;
		case 'c':
			if (parse_range(&a->cfg.crit, &a->cfg.has_crit, optarg))
				ret = CHECK_UNKNOWN;
			break;
		case OPT_PERCENT: a->cfg.percent = true; break;
		case OPT_COUNT:
			if (check_count_parse(optarg, &a->cfg.count) < 0)
				ret = usage_error("--count '%s': expected a comma-separated list of disabled, "
						  "draining, down",
						  optarg);
			break;
		case OPT_MIN_ENABLED:
			if (parse_uint(optarg, INT_MAX, &a->cfg.min_enabled) < 0)
				ret = usage_error("--min-enabled '%s': expected a whole number, 0 or more", optarg);
			break;
		case OPT_MAX_OUT_TIME:
			if (lbm_time_duration(optarg, &a->cfg.max_out_s) < 0)
				ret = usage_error("--max-out-time '%s': expected a duration above 0: seconds, or a "
						  "number and one of the units s, m, h, d (90s, 30m, 12h, 2d)",
						  optarg);
			a->cfg.has_max_out = true;
			a->cfg.max_out_text = optarg;
			break;
		case 't': ret = parse_timeout(a, optarg); break;
		case 'u': ret = table_option(a, lbm_option_find("user"), optarg); break;
		case 'v':
			if (a->cfg.verbose < 3)
				a->cfg.verbose++;
			break;
		case 'h':
			print_help();
			ret = CHECK_UNKNOWN;
			break;
		case 'V':
			printf(PROGNAME " %s (lbmember)\n", LBM_VERSION);
			ret = CHECK_UNKNOWN;
			break;
		case ':': ret = usage_error("option '%s' needs a value", argv[optind - 1]); break;
		default:
			if (c >= OPT_TABLE && c < OPT_TABLE + 1000)
				ret = table_option(a, lbm_option_info((size_t)(c - OPT_TABLE)), optarg);
			else
				ret = usage_error("unknown or ambiguous option '%s'", argv[optind - 1]);
		}
	}
	free(longopts);
	if (ret >= 0)
		return ret;
	if (optind < argc)
		return usage_error("unexpected argument '%s' (options only: the target is -T)", argv[optind]);
	if (!a->target)
		return usage_error("%s", "no target: give -T TARGET, e.g. -T haproxy:///run/haproxy/admin.sock");
	if (!a->cfg.has_warn && !a->cfg.has_crit)
		parse_range(&a->cfg.warn, &a->cfg.has_warn, "0");
	return percent_needs_flag(a);
}

static double elapsed(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - since->tv_sec) + (double)(now.tv_nsec - since->tv_nsec) / 1e9;
}

/* "listing pool 'web' on haproxy://...": what the plugin was doing; pools
 * NULL: every pool. */
static void put_stage(FILE *f, const char *stage, const char *const *pools, size_t n, const char *target)
{
	if (strcmp(stage, "listing") || !pools) {
		fprintf(f, "%s ", strcmp(stage, "listing") ? stage : "listing pools of");
		check_put_text(f, target);
		return;
	}
	fprintf(f, "listing pool%s ", n == 1 ? "" : "s");
	for (size_t i = 0; i < n; i++) {
		fputs(i ? ", '" : "'", f);
		check_put_text(f, pools[i]);
		fputc('\'', f);
	}
	fputs(" on ", f);
	check_put_text(f, target);
}

/* Messages are composed before the alarm can fire: the handler only writes. */
static char *stage_message(const struct args *a, const char *stage)
{
	char *msg = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&msg, &len);

	if (!f)
		return NULL;
	fprintf(f, "LB_MEMBERS %s - timed out after %u s ", check_status_name(a->timeout_state), a->timeout);
	put_stage(f, stage, a->n_pools ? a->pools : NULL, a->n_pools, a->target);
	fputc('\n', f);
	if (fclose(f))
		return NULL;
	return msg;
}

/* A pool that is not there is CRITICAL: the traffic it should carry has
 * nowhere to go. A balancer that cannot be reached or does not answer in
 * time is what -t's STATE says; anything else (refused, unexpected answer)
 * is UNKNOWN. */
static int fail(const struct args *a, struct lbm *lb, int ret, const char *stage, const char *const *pools, size_t n)
{
	int status = CHECK_UNKNOWN;

	if (ret == LBM_ENOTFOUND && pools)
		status = CHECK_CRITICAL;
	else if (ret == LBM_EIO || ret == LBM_ETIMEDOUT)
		status = (int)a->timeout_state;
	printf("LB_MEMBERS %s - ", check_status_name(status));
	put_stage(stdout, stage, pools, n, a->target);
	fputs(": ", stdout);
	check_put_text(stdout, lbm_errmsg(lb));
	putchar('\n');
	return status;
}

/* Every pool named, in one exchange where the balancer allows it. When one
 * is missing, which one is told by asking for each (only then). */
static int list_pools(struct lbm *lb, const struct args *a, struct lbm_listing *l)
{
	const char *const *names = a->n_pools ? a->pools : NULL;
	int ret = lbm_pools(lb, names, a->n_pools, l);

	for (size_t i = 0; ret == LBM_ENOTFOUND && a->n_pools > 1 && i < a->n_pools; i++) {
		struct lbm_listing one;
		int one_ret = lbm_pools(lb, &a->pools[i], 1, &one);

		lbm_listing_free(&one);
		if (one_ret < 0)
			return fail(a, lb, one_ret, "listing", &a->pools[i], 1);
	}
	return ret < 0 ? fail(a, lb, ret, "listing", names, a->n_pools) : -1;
}

static void print_settings(const struct args *a)
{
	printf("target %s, pools %s", a->target, a->n_pools ? "" : "all");
	for (size_t i = 0; i < a->n_pools; i++)
		printf("%s'%s'", i ? " " : "", a->pools[i]);
	printf(", counting%s%s%s, warning %s, critical %s%s, min enabled %u, timeout %u s (then %s)",
	       a->cfg.count & COUNT_DISABLED ? " disabled" : "", a->cfg.count & COUNT_DRAINING ? " draining" : "",
	       a->cfg.count & COUNT_DOWN ? " down" : "", a->cfg.has_warn ? a->cfg.warn.text : "none",
	       a->cfg.has_crit ? a->cfg.crit.text : "none", a->cfg.percent ? " (percent)" : "", a->cfg.min_enabled,
	       a->timeout, check_status_name(a->timeout_state));
	if (a->cfg.has_max_out)
		printf(", max out time %s", a->cfg.max_out_text);
	putchar('\n');
}

static int check(const struct args *a, char **msgs)
{
	struct check_config cfg = a->cfg;
	struct lbm *lb = NULL;
	struct lbm_listing l = { 0 };
	struct check_pool *res = NULL;
	struct timespec t0;
	double t_open;
	int ret, status;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	alarm_msg = msgs[0];
	alarm(a->timeout);
	ret = lbm_open(&lb, a->target, &a->opt);
	if (ret < 0) {
		status = fail(a, lb, ret, "opening", NULL, 0);
		goto out;
	}
	t_open = elapsed(&t0);
	/* From the handle: -T given again, or targets joined with commas. */
	cfg.multi = lbm_balancers(lb) > 1;
	alarm_msg = msgs[1];
	status = list_pools(lb, a, &l);
	if (status >= 0)
		goto out;
	alarm(0);
	/* Without its records every member's age is unknown, never over:
	 * the check would stay OK for ever. */
	if (a->cfg.has_max_out && l.records_error) {
		status = unknown("--max-out-time: cannot read lbmember's records: %s (the monitoring user must be able "
				 "to read the state directory, --state-dir)",
				 l.records_error);
		goto out;
	}
	if (!l.n) {
		fputs("LB_MEMBERS UNKNOWN - no pools on ", stdout);
		check_put_text(stdout, a->target);
		puts(": nothing to check");
		status = CHECK_UNKNOWN;
		goto out;
	}
	res = calloc(l.n, sizeof(*res));
	if (!res) {
		status = unknown("%s", "out of memory");
		goto out;
	}
	cfg.now = (long long)time(NULL);
	status = check_evaluate(&cfg, l.pools, l.n, res);
	check_report(stdout, &cfg, res, l.n, status);
	if (a->cfg.verbose >= 2)
		print_settings(a);
	if (a->cfg.verbose >= 3)
		printf("opened in %.3f s, listed in %.3f s\n", t_open, elapsed(&t0) - t_open);
out:
	alarm(0);
	free(res);
	lbm_listing_free(&l);
	lbm_close(lb);
	return status;
}

int main(int argc, char **argv)
{
	struct args a = {
		.timeout = DEFAULT_TIMEOUT,
		.timeout_state = CHECK_UNKNOWN,
		.cfg = { .count = COUNT_DISABLED | COUNT_DRAINING, .min_enabled = 1 },
		.opt = LBM_OPTIONS_INIT,
	};
	struct sigaction sa = { .sa_handler = on_alarm };
	char *msgs[2] = { NULL, NULL };
	int status = parse_args(argc, argv, &a);

	if (status >= 0)
		goto out;
	a.opt.timeout_s = a.timeout;
	msgs[0] = stage_message(&a, "opening");
	msgs[1] = stage_message(&a, "listing");
	if (!msgs[0] || !msgs[1]) {
		status = unknown("%s", "out of memory");
		goto out;
	}
	alarm_status = a.timeout_state;
	sigaction(SIGALRM, &sa, NULL);
	status = check(&a, msgs);
out:
	free(msgs[0]);
	free(msgs[1]);
	free(a.pools);
	free(a.targets);
	fflush(stdout);
	return status;
}
