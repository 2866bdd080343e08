// SPDX-License-Identifier: MIT
/* lbmember: the command line an operator types. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lbm_json.h"
#include "lbmember.h"

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

static const char usage_text[] =
	"Usage: lbmember [OPTIONS] TARGET list [POOL]\n"
	"       lbmember [OPTIONS] TARGET status POOL MEMBER\n"
	"       lbmember [OPTIONS] TARGET enable|drain|disable POOL MEMBER [MEMBER...]\n"
	"Try 'lbmember --help' for more information.\n";

static const char help_text[] =
	"Usage: lbmember [OPTIONS] TARGET list [POOL]\n"
	"       lbmember [OPTIONS] TARGET status POOL MEMBER\n"
	"       lbmember [OPTIONS] TARGET enable|drain|disable POOL MEMBER [MEMBER...]\n"
	"\n"
	"Take load-balancer members out of rotation gently, and put them back, the same\n"
	"way on LVS/IPVS, HAProxy and F5 BIG-IP LTM.\n"
	"\n"
	"Targets:\n"
	"  lvs://                       the local kernel's IPVS table (lvs://?netns=NAME)\n"
	"  haproxy:///PATH/admin.sock   an HAProxy runtime API unix socket (level admin)\n"
	"  haproxy://HOST:PORT          an HAProxy runtime API TCP socket\n"
	"  f5://HOST[:PORT]             a BIG-IP's iControl REST API (HTTPS)\n"
	"\n"
	"Pools and members:\n"
	"  LVS      pool tcp:VIP:PORT, udp:..., sctp:..., fwm:MARK, tcp:[2001:db8::1]:80;\n"
	"           member IP[:PORT] (the port defaults to the service's)\n"
	"  HAProxy  pool = backend name; member = server name, or its ADDR[:PORT]\n"
	"  F5       pool = /Partition/pool (partition defaults to Common);\n"
	"           member = /Partition/ADDR:PORT or ADDR:PORT\n"
	"  POOL '-' means every pool that holds the member.\n"
	"\n"
	"Commands:\n"
	"  list [POOL]         pools and members: state, health, weight, connections\n"
	"  status POOL MEMBER  one member\n"
	"  enable              take new connections again (LVS: restore the recorded weight)\n"
	"  drain               no new connections; existing ones continue (LVS: weight 0)\n"
	"  disable             out of rotation entirely (LVS: destination removed, and its\n"
	"                      connections dropped: drain first); HAProxy: maintenance\n"
	"  Asking for the state a member is already in changes nothing.\n"
	"\n"
	"Options for enable, drain and disable:\n"
	"  --wait S            then wait up to S seconds: until active connections reach 0\n"
	"                      (drain, disable) or health is up (enable); exit 1 on timeout,\n"
	"                      the member left as set\n"
	"  --weight N          with enable: set this weight (0-65535)\n"
	"  --min-enabled N     refuse, touching nothing, when fewer than N members of a pool\n"
	"                      would stay enabled and not down (default 1; 0 allows\n"
	"                      emptying a pool)\n"
	"  --dry-run           say what would change, change nothing\n"
	"\n"
	"General options:\n"
	"  --json              machine-readable output on stdout (errors too)\n"
	"  --timeout S         bound on each exchange with the balancer (default 5)\n"
	"  --user USER         F5 user (default $LBM_F5_USER)\n"
	"  --password-file F   file holding the F5 password (default $LBM_F5_PASSWORD);\n"
	"                      there is no --password: argv is visible to every user\n"
	"  --basic-auth        F5: HTTP basic auth instead of a token (old devices)\n"
	"  --login-provider P  F5 loginProviderName (default tmos)\n"
	"  --ca-file F         CA bundle to verify the balancer's TLS certificate\n"
	"  --insecure          do not verify TLS certificates\n"
	"  --state-dir D       LVS state store (default $LBM_STATE_DIR or /var/lib/lbmember)\n"
	"  -h, --help          this help\n"
	"  -V, --version       the version\n"
	"\n"
	"Exit status: 0 done, 1 failed (nothing changed unless the output says so),\n"
	"2 usage error.\n"
	"\n"
	"Examples:\n"
	"  lbmember haproxy:///run/haproxy/admin.sock list\n"
	"  lbmember haproxy:///run/haproxy/admin.sock drain www web1 --wait 300\n"
	"  lbmember lvs:// disable tcp:198.51.100.11:80 198.51.100.78\n"
	"  LBM_F5_USER=admin lbmember --password-file ~/.f5pass f5://bigip.example drain /Common/web 192.0.2.5:80\n";

struct cli {
	struct lbm_options opt;
	struct lbm_change how;
	int json;
	int dry_run;
	int state_opts; /* an enable/drain/disable option was given */
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

static double monotonic_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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

static void format_address(char *buf, size_t size, const struct lbm_member *m)
{
	if (!m->address[0])
		snprintf(buf, size, "-");
	else if (strchr(m->address, ':'))
		snprintf(buf, size, "[%s]:%u", m->address, m->port);
	else
		snprintf(buf, size, "%s:%u", m->address, m->port);
}

static const char *status_text(char *buf, size_t size, const struct lbm_member *m)
{
	if (!m->held[0])
		return m->status;
	snprintf(buf, size, "%s (held: %s)", m->status, m->held);
	return buf;
}

/* Columns as wide as their widest cell, like ipvsadm -Ln. */
enum { COL_POOL, COL_MEMBER, COL_ADDRESS, COL_STATE, COL_HEALTH, COL_WEIGHT, COL_ACTIVE, COL_INACTIVE, COLS };
static const char *const headers[COLS] = { "POOL",   "MEMBER", "ADDRESS", "STATE",
					   "HEALTH", "WEIGHT", "ACTIVE",  "INACTIVE" };

struct row {
	const char *cell[COLS];
	char address[LBM_NAME_MAX + 16];
	char counts[3][24];
	char status[2 * LBM_NAME_MAX + 16];
};

/* Cells point into the member or the row: only the address is formatted, so
 * a table of 10,000 members is sized and printed with three formatted writes
 * a row (the address twice, the row once), where there were twenty-five. */
static void member_row(const char *pool, const struct lbm_member *m, struct row *r)
{
	format_address(r->address, sizeof(r->address), m);
	r->cell[COL_POOL] = pool;
	r->cell[COL_MEMBER] = m->name;
	r->cell[COL_ADDRESS] = r->address;
	r->cell[COL_STATE] = lbm_state_name(m->state);
	r->cell[COL_HEALTH] = lbm_health_name(m->health);
	r->cell[COL_WEIGHT] = count_text(m->weight, r->counts[0]);
	r->cell[COL_ACTIVE] = count_text(m->active, r->counts[1]);
	r->cell[COL_INACTIVE] = count_text(m->inactive, r->counts[2]);
}

static void print_table(const struct lbm_pool *pools, size_t n)
{
	struct row r;
	int w[COLS];

	for (int c = 0; c < COLS; c++)
		w[c] = (int)strlen(headers[c]);
	for (size_t p = 0; p < n; p++) {
		for (size_t i = 0; i < pools[p].n_members; i++) {
			member_row(pools[p].name, &pools[p].members[i], &r);
			for (int c = 0; c < COLS; c++)
				if ((int)strlen(r.cell[c]) > w[c])
					w[c] = (int)strlen(r.cell[c]);
		}
	}
	for (int c = 0; c < COLS; c++)
		printf("%-*s  ", w[c], headers[c]);
	printf("STATUS\n");
	for (size_t p = 0; p < n; p++) {
		if (!pools[p].n_members) {
			printf("%-*s  (no members)%s%s\n", w[COL_POOL], pools[p].name, pools[p].detail[0] ? "  " : "",
			       pools[p].detail);
			continue;
		}
		for (size_t i = 0; i < pools[p].n_members; i++) {
			const struct lbm_member *m = &pools[p].members[i];

			member_row(pools[p].name, m, &r);
			printf("%-*s  %-*s  %-*s  %-*s  %-*s  %-*s  %-*s  %-*s  %s\n", w[0], r.cell[0], w[1], r.cell[1],
			       w[2], r.cell[2], w[3], r.cell[3], w[4], r.cell[4], w[5], r.cell[5], w[6], r.cell[6],
			       w[7], r.cell[7], status_text(r.status, sizeof(r.status), m));
		}
	}
}

static int cmd_list(const struct cli *cli, struct lbm *lb, char **args, int nargs)
{
	struct lbm_pool *pools;
	size_t n;
	int ret;

	if (nargs > 1)
		return usage("list takes at most one POOL");
	ret = lbm_pools(lb, nargs ? args[0] : NULL, &pools, &n);
	if (ret < 0)
		return fail(cli, lb, ret);
	if (cli->json)
		print_json(json_pack("{s:o}", "pools", lbm_json_pools(pools, n)));
	else
		print_table(pools, n);
	lbm_pools_free(pools, n);
	return EXIT_OK;
}

static int cmd_status(const struct cli *cli, struct lbm *lb, char **args, int nargs)
{
	struct lbm_member m;
	struct row r;
	int ret;

	if (nargs != 2)
		return usage("status takes POOL MEMBER");
	ret = lbm_member_get(lb, args[0], args[1], &m);
	if (ret < 0)
		return fail(cli, lb, ret);
	if (cli->json) {
		print_json(json_pack("{s:s, s:o}", "pool", args[0], "member", lbm_json_member(&m)));
		return EXIT_OK;
	}
	member_row(args[0], &m, &r);
	for (int c = COL_MEMBER; c < COLS; c++)
		printf("%-9s %s\n", headers[c], r.cell[c]);
	printf("%-9s %s\n", "STATUS", status_text(r.status, sizeof(r.status), &m));
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

/* One line per member, saying truly which of the four things happened. */
static void print_outcomes(const struct lbm_result *res, enum lbm_state asked)
{
	char before[64], after[64];

	for (size_t i = 0; i < res->n; i++) {
		const struct lbm_outcome *o = &res->outcomes[i];
		int weight_changed = o->before.weight != o->after.weight;

		describe(before, sizeof(before), &o->before, weight_changed);
		describe(after, sizeof(after), &o->after, weight_changed);
		switch (o->result) {
		case LBM_OUTCOME_UNCHANGED: printf("%s/%s: already %s\n", o->pool, o->before.name, before); break;
		case LBM_OUTCOME_WOULD_APPLY:
			printf("%s/%s: would change %s -> %s\n", o->pool, o->before.name, before, after);
			break;
		case LBM_OUTCOME_NOT_APPLIED:
			printf("%s/%s: not changed, still %s: the call failed before this change\n", o->pool,
			       o->before.name, before);
			break;
		case LBM_OUTCOME_APPLIED:
			if (o->changed)
				printf("%s/%s: %s -> %s\n", o->pool, o->before.name, before, after);
			else
				printf("%s/%s: asked for %s, but it is still %s\n", o->pool, o->before.name,
				       lbm_state_name(asked), after);
			break;
		}
	}
}

static void print_result(const struct cli *cli, struct lbm *lb, const struct lbm_result *res, enum lbm_state asked,
			 int ret)
{
	if (cli->json) {
		json_t *obj = json_pack("{s:b, s:b, s:o, s:o}", "changed", res->changed, "dry_run", cli->dry_run,
					"outcomes", lbm_json_outcomes(res), "warning",
					res->warning[0] ? json_string(res->warning) : json_null());

		if (ret < 0)
			json_object_set_new(obj, "error", lbm_json_error(ret, lbm_errmsg(lb)));
		print_json(obj);
		return;
	}
	print_outcomes(res, asked);
	if (res->warning[0])
		fprintf(stderr, "lbmember: warning: %s\n", res->warning);
	if (ret < 0)
		fprintf(stderr, "lbmember: %s\n", lbm_errmsg(lb));
}

/* A person waiting minutes for a drain should see at once that it was
 * done, and what is being waited for: change first, then wait with a second,
 * idempotent, call. JSON readers get one document from one call. */
static int set_then_wait(const struct cli *cli, struct lbm *lb, const struct lbm_ref *refs, size_t n,
			 const struct lbm_change *how)
{
	struct lbm_change change = *how;
	struct lbm_result res;
	double started;
	int ret;

	change.wait_s = 0;
	ret = lbm_set_state(lb, refs, n, &change, &res);
	print_result(cli, lb, &res, how->state, ret);
	lbm_result_free(&res);
	if (ret < 0)
		return ret;
	printf("waiting up to %g s for %s\n", how->wait_s,
	       how->state == LBM_STATE_ENABLED ? "health checks to pass" : "active connections to finish");
	fflush(stdout);
	started = monotonic_s();
	ret = lbm_set_state(lb, refs, n, how, &res);
	if (ret == 0)
		printf("settled after %.1f s\n", monotonic_s() - started);
	else
		fprintf(stderr, "lbmember: %s\n", lbm_errmsg(lb));
	lbm_result_free(&res);
	return ret;
}

static int cmd_set(const struct cli *cli, struct lbm *lb, enum lbm_state state, const char *command, char **args,
		   int nargs)
{
	struct lbm_change how = cli->how;
	struct lbm_result res;
	struct lbm_ref *refs;
	int ret;

	if (nargs < 2)
		return usage("%s takes POOL MEMBER [MEMBER...]", command);
	refs = calloc((size_t)nargs - 1, sizeof(*refs));
	if (!refs)
		return fail(cli, NULL, LBM_ENOMEM);
	for (int i = 1; i < nargs; i++)
		refs[i - 1] = (struct lbm_ref){ .pool = args[0], .member = args[i] };
	how.state = state;
	if (!cli->json && how.wait_s > 0 && !cli->dry_run) {
		ret = set_then_wait(cli, lb, refs, (size_t)nargs - 1, &how);
	} else {
		ret = lbm_set_state(lb, refs, (size_t)nargs - 1, &how, &res);
		print_result(cli, lb, &res, how.state, ret);
		lbm_result_free(&res);
	}
	free(refs);
	return ret < 0 ? EXIT_FAILED : EXIT_OK;
}

enum {
	OPT_JSON = 256,
	OPT_TIMEOUT,
	OPT_USER,
	OPT_PASSWORD_FILE,
	OPT_PASSWORD,
	OPT_BASIC_AUTH,
	OPT_LOGIN_PROVIDER,
	OPT_CA_FILE,
	OPT_INSECURE,
	OPT_STATE_DIR,
	OPT_WAIT,
	OPT_WEIGHT,
	OPT_MIN_ENABLED,
	OPT_DRY_RUN,
};

static const struct option long_options[] = {
	{ "json", no_argument, NULL, OPT_JSON },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "user", required_argument, NULL, OPT_USER },
	{ "password-file", required_argument, NULL, OPT_PASSWORD_FILE },
	/* Refused by name: getopt_long would take it for --password-file and
	 * the password for a file name, which errors then echo. */
	{ "password", optional_argument, NULL, OPT_PASSWORD },
	{ "basic-auth", no_argument, NULL, OPT_BASIC_AUTH },
	{ "login-provider", required_argument, NULL, OPT_LOGIN_PROVIDER },
	{ "ca-file", required_argument, NULL, OPT_CA_FILE },
	{ "insecure", no_argument, NULL, OPT_INSECURE },
	{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
	{ "wait", required_argument, NULL, OPT_WAIT },
	{ "weight", required_argument, NULL, OPT_WEIGHT },
	{ "min-enabled", required_argument, NULL, OPT_MIN_ENABLED },
	{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

/* Returns -1 to go on, or an exit status. */
static int parse_options(struct cli *cli, int argc, char **argv)
{
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hV", long_options, NULL)) != -1) {
		switch (c) {
		case 'h': fputs(help_text, stdout); return EXIT_OK;
		case 'V': printf("lbmember %s\n", LBM_VERSION); return EXIT_OK;
		case OPT_JSON: cli->json = 1; break;
		case OPT_TIMEOUT:
			if (parse_seconds("--timeout", optarg, &cli->opt.timeout_s))
				return EXIT_USAGE;
			if (cli->opt.timeout_s == 0)
				return usage("--timeout expects a number of seconds above 0, got '%s'", optarg);
			break;
		case OPT_USER: cli->opt.user = optarg; break;
		case OPT_PASSWORD_FILE: cli->opt.password_file = optarg; break;
		case OPT_PASSWORD:
			return usage("there is no --password, since every user can read a command line: "
				     "use --password-file FILE or $LBM_F5_PASSWORD");
		case OPT_BASIC_AUTH: cli->opt.basic_auth = 1; break;
		case OPT_LOGIN_PROVIDER: cli->opt.login_provider = optarg; break;
		case OPT_CA_FILE: cli->opt.ca_file = optarg; break;
		case OPT_INSECURE: cli->opt.insecure = 1; break;
		case OPT_STATE_DIR: cli->opt.state_dir = optarg; break;
		case OPT_WAIT:
			cli->state_opts = 1;
			if (parse_seconds("--wait", optarg, &cli->how.wait_s))
				return EXIT_USAGE;
			break;
		case OPT_WEIGHT:
			cli->state_opts = 1;
			cli->how.flags |= LBM_CHANGE_HAS_WEIGHT;
			if (parse_count("--weight", optarg, 65535, &cli->how.weight))
				return EXIT_USAGE;
			break;
		case OPT_MIN_ENABLED:
			cli->state_opts = 1;
			cli->how.flags |= LBM_CHANGE_HAS_MIN_ENABLED;
			if (parse_count("--min-enabled", optarg, 1000000, &cli->how.min_enabled))
				return EXIT_USAGE;
			break;
		case OPT_DRY_RUN:
			cli->state_opts = 1;
			cli->dry_run = 1;
			cli->how.flags |= LBM_CHANGE_DRY_RUN;
			break;
		case ':': return usage("option '%s' needs a value", argv[optind - 1]);
		default: return usage("unknown option '%s'", argv[optind - 1]);
		}
	}
	return -1;
}

int main(int argc, char **argv)
{
	struct cli cli = { 0 };
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
	if (!strcmp(command, "enable"))
		state = LBM_STATE_ENABLED;
	else if (!strcmp(command, "drain"))
		state = LBM_STATE_DRAINING;
	else if (!strcmp(command, "disable"))
		state = LBM_STATE_DISABLED;
	else if (strcmp(command, "list") && strcmp(command, "status"))
		return usage("unknown command '%s': expected list, status, enable, drain or disable", command);
	if (state == LBM_STATE_UNKNOWN && cli.state_opts)
		return usage("--wait, --weight, --min-enabled and --dry-run go with enable, drain or disable");
	if ((cli.how.flags & LBM_CHANGE_HAS_WEIGHT) && state != LBM_STATE_ENABLED)
		return usage("--weight goes with enable only");

	ret = lbm_open(&lb, target, &cli.opt);
	if (ret < 0) {
		ret = fail(&cli, lb, ret);
	} else if (!strcmp(command, "list")) {
		ret = cmd_list(&cli, lb, argv + optind + 2, nargs);
	} else if (!strcmp(command, "status")) {
		ret = cmd_status(&cli, lb, argv + optind + 2, nargs);
	} else {
		ret = cmd_set(&cli, lb, state, command, argv + optind + 2, nargs);
	}
	lbm_close(lb);
	return ret;
}
