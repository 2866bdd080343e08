// SPDX-License-Identifier: MIT
/* A line-driven client of the public API, so that a test can hold one
 * handle open while it turns the emulator's knobs (token expiry...).
 *
 * stdin, one command a line; stdout, one answer a line: "ok ..." or
 * "err CODE message".
 *   open TARGET [basic] [insecure] [ca=FILE] [timeout=S] [provider=P]
 *   list [POOL]                   ok NPOOLS NMEMBERS
 *   get POOL MEMBER               ok STATE HEALTH WEIGHT ACTIVE [by=WHO since=T reason=TEXT]
 *   set STATE POOL MEMBER... [wait=S] [force=S] [reason=TEXT]
 *                                 ok CHANGED [cut=POOL/MEMBER:N]...
 *   close                         ok
 * reason= takes the rest of the line; by, since and reason are there when
 * the member has a record (lbm_member.reason). The user and password come
 * from LBM_F5_USER / LBM_F5_PASSWORD, the state directory from
 * LBM_STATE_DIR. */
#define _POSIX_C_SOURCE 200809L

#include "lbmember.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WORDS 128

static int split(char *line, char **words)
{
	int n = 0;

	for (char *w = strtok(line, " \t\n"); w && n < MAX_WORDS; w = strtok(NULL, " \t\n"))
		words[n++] = w;
	return n;
}

static void report(struct lbm *lb, int ret)
{
	printf("err %s %s\n", lbm_strerror(ret), lbm_errmsg(lb));
}

static void do_open(struct lbm **lb, char **w, int n)
{
	struct lbm_options opt = LBM_OPTIONS_INIT;
	int ret;

	for (int i = 2; i < n; i++) {
		if (!strcmp(w[i], "basic"))
			opt.basic_auth = 1;
		else if (!strcmp(w[i], "insecure"))
			opt.insecure = 1;
		else if (!strncmp(w[i], "ca=", 3))
			opt.ca_file = w[i] + 3;
		else if (!strncmp(w[i], "timeout=", 8))
			opt.timeout_s = atof(w[i] + 8);
		else if (!strncmp(w[i], "provider=", 9))
			opt.login_provider = w[i] + 9;
	}
	lbm_close(*lb);
	ret = lbm_open(lb, n > 1 ? w[1] : NULL, &opt);
	if (ret < 0)
		report(*lb, ret);
	else
		printf("ok\n");
}

static void do_list(struct lbm *lb, char **w, int n)
{
	struct lbm_listing l;
	size_t nmembers = 0;
	int ret = lbm_pools(lb, n > 1 ? (const char *const *)&w[1] : NULL, n > 1, &l);

	if (ret < 0)
		return report(lb, ret);
	for (size_t i = 0; i < l.n; i++)
		nmembers += l.pools[i].n_members;
	printf("ok %zu %zu\n", l.n, nmembers);
	lbm_listing_free(&l);
}

static void do_get(struct lbm *lb, char **w, int n)
{
	struct lbm_listing l;
	const struct lbm_member *m;
	int ret = n == 3 ? lbm_member_get(lb, w[1], w[2], &l) : LBM_EINVAL;

	if (ret < 0)
		return report(lb, ret);
	m = &l.pools[0].members[0];
	printf("ok %s %s %d %ld", lbm_state_name(m->state), lbm_health_name(m->health), m->weight, m->active);
	if (m->by)
		printf(" by=%s since=%lld reason=%s", m->by, m->since, m->reason ? m->reason : "");
	printf("\n");
	lbm_listing_free(&l);
}

/* The words of a reason given as reason=TEXT, put back together. */
static void join(char *out, size_t outsz, char **w, int n)
{
	size_t len = 0;

	out[0] = '\0';
	for (int i = 0; i < n && len < outsz; i++)
		len += (size_t)snprintf(out + len, outsz - len, "%s%s", i ? " " : "", w[i]);
}

static void do_set(struct lbm *lb, char **w, int n)
{
	struct lbm_change how = LBM_CHANGE_INIT;
	struct lbm_ref refs[MAX_WORDS];
	struct lbm_result res;
	char reason[LBM_REASON_MAX + 64];
	int ret, nrefs = 0;

	how.flags = LBM_CHANGE_HAS_MIN_ENABLED;
	for (int i = 3; i < n; i++) {
		if (!strncmp(w[i], "wait=", 5))
			how.wait_s = atof(w[i] + 5);
		else if (!strncmp(w[i], "force=", 6))
			how.force_after_s = atof(w[i] + 6);
		else if (!strncmp(w[i], "reason=", 7)) {
			w[i] += 7;
			join(reason, sizeof(reason), &w[i], n - i);
			how.reason = reason;
			break;
		} else
			refs[nrefs++] = (struct lbm_ref){ .pool = w[2], .member = w[i] };
	}
	if (!nrefs || lbm_state_parse(w[1], &how.state) < 0) {
		printf("err EINVAL usage: set STATE POOL MEMBER... [wait=S] [force=S] [reason=TEXT]\n");
		return;
	}
	ret = lbm_set_state(lb, refs, (size_t)nrefs, &how, &res);
	if (ret < 0) {
		report(lb, ret);
	} else {
		printf("ok %d", res.changed);
		for (size_t i = 0; i < res.n; i++)
			if (res.outcomes[i].cut)
				printf(" cut=%s/%s:%ld", res.outcomes[i].pool, res.outcomes[i].before.name,
				       res.outcomes[i].cut);
		printf("\n");
	}
	lbm_result_free(&res);
}

int main(void)
{
	struct lbm *lb = NULL;
	char line[8192], *w[MAX_WORDS];

	setvbuf(stdout, NULL, _IOLBF, 0);
	while (fgets(line, sizeof(line), stdin)) {
		int n = split(line, w);

		if (!n)
			continue;
		if (!strcmp(w[0], "open"))
			do_open(&lb, w, n);
		else if (!lb)
			printf("err EINVAL open first\n");
		else if (!strcmp(w[0], "list"))
			do_list(lb, w, n);
		else if (!strcmp(w[0], "get"))
			do_get(lb, w, n);
		else if (!strcmp(w[0], "set"))
			do_set(lb, w, n);
		else if (!strcmp(w[0], "close")) {
			lbm_close(lb);
			lb = NULL;
			printf("ok\n");
		} else
			printf("err EINVAL unknown command %s\n", w[0]);
	}
	lbm_close(lb);
	return 0;
}
