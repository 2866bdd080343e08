// SPDX-License-Identifier: MIT
/* A handle over several balancers (targets separated by commas): an HA pair
 * behind VRRP, where each balancer keeps its own runtime state. A change is
 * planned on every balancer before any is touched, applied on all side by
 * side (a thread each: the handles share nothing), and put back on all when
 * one fails. */
#define _POSIX_C_SOURCE 200809L

#include "core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>

struct job {
	struct lbm *part;
	int (*fn)(struct job *);
	int ret;
	/* What fn takes and gives. */
	const char *const *names;
	size_t n;
	const char *pool, *member;
	const struct lbm_ref *refs;
	const struct lbm_change *how;
	struct lbm_listing listing;
	struct change *change;
};

static int job_main(void *arg)
{
	struct job *j = arg;

	j->ret = j->fn(j);
	return 0;
}

/* Every job at once, a thread each; in this thread when one cannot start. */
static void run_all(struct job *jobs, size_t n)
{
	thrd_t *threads = calloc(n, sizeof(*threads));
	bool *started = calloc(n, sizeof(*started));

	for (size_t i = 0; i < n; i++)
		if (!(n > 1 && threads && started && thrd_create(&threads[i], job_main, &jobs[i]) == thrd_success))
			job_main(&jobs[i]);
		else
			started[i] = true;
	for (size_t i = 0; started && i < n; i++)
		if (started[i])
			thrd_join(threads[i], NULL);
	free(threads);
	free(started);
}

static struct job *new_jobs(struct lbm *lb, int (*fn)(struct job *))
{
	struct job *jobs = calloc(lb->n_parts, sizeof(*jobs));

	for (size_t i = 0; jobs && i < lb->n_parts; i++)
		jobs[i] = (struct job){ .part = lb->parts[i], .fn = fn };
	return jobs;
}

/* The group's error from a part's: its balancer first. */
static int part_fail(struct lbm *lb, const struct lbm *part, int code)
{
	return lbm_fail(lb, code, "%s: %s", part->name, part->errmsg);
}

/* The first job that failed, as the group's error; 0 when none did. */
static int first_failure(struct lbm *lb, const struct job *jobs)
{
	for (size_t i = 0; i < lb->n_parts; i++)
		if (jobs[i].ret < 0)
			return part_fail(lb, jobs[i].part, jobs[i].ret);
	return 0;
}

/* Where the next target starts: a comma followed by "SCHEME://". A comma
 * elsewhere belongs to the target (a path may hold one). */
static const char *next_target(const char *s)
{
	for (const char *c = strchr(s, ','); c; c = strchr(c + 1, ',')) {
		size_t len = strspn(c + 1, "abcdefghijklmnopqrstuvwxyz0123456789+.-");

		if (len && !strncmp(c + 1 + len, "://", 3))
			return c;
	}
	return NULL;
}

/* Whether targets lists several balancers. */
bool lbm_group_targets(const char *targets)
{
	return next_target(targets) != NULL;
}

int lbm_group_open(struct lbm *lb, const char *targets, const struct lbm_options *opt)
{
	int ret = 0;

	/* One file written by several balancers would hold the last one's. */
	if (opt && opt->state_file)
		return lbm_fail(lb, LBM_EINVAL,
				"state_file with several targets: give each its own, as TARGET?state-file=PATH");
	for (const char *t = targets, *end; t && ret == 0; t = end ? end + 1 : NULL) {
		struct lbm **grown = realloc(lb->parts, (lb->n_parts + 1) * sizeof(*grown));
		char *one;

		end = next_target(t);
		one = end ? strndup(t, (size_t)(end - t)) : strdup(t);
		if (!grown || !one) {
			free(one);
			if (grown)
				lb->parts = grown;
			return lbm_fail(lb, LBM_ENOMEM, "out of memory");
		}
		lb->parts = grown;
		ret = lbm_open(&lb->parts[lb->n_parts], one, opt);
		free(one);
		if (!lb->parts[lb->n_parts])
			return lbm_fail(lb, LBM_ENOMEM, "out of memory");
		lb->n_parts++;
		if (ret < 0)
			ret = part_fail(lb, lb->parts[lb->n_parts - 1], ret);
	}
	return ret;
}

/* The listings of every part, as one. */
static int gather(struct lbm *lb, struct job *jobs, struct lbm_listing *out)
{
	int ret;

	*out = (struct lbm_listing){ 0 };
	if (!jobs)
		return lbm_fail(lb, LBM_ENOMEM, "out of memory");
	run_all(jobs, lb->n_parts);
	ret = first_failure(lb, jobs);
	for (size_t i = 0; i < lb->n_parts; i++) {
		if (ret == 0 && lbm_listing_append(out, &jobs[i].listing) < 0)
			ret = lbm_fail(lb, LBM_ENOMEM, "out of memory");
		lbm_listing_free(&jobs[i].listing);
	}
	if (ret < 0)
		lbm_listing_free(out);
	free(jobs);
	return ret;
}

static int job_pools(struct job *j)
{
	return lbm_pools(j->part, j->names, j->n, &j->listing);
}

int lbm_group_pools(struct lbm *lb, const char *const *names, size_t n, struct lbm_listing *out)
{
	struct job *jobs = new_jobs(lb, job_pools);

	for (size_t i = 0; jobs && i < lb->n_parts; i++) {
		jobs[i].names = names;
		jobs[i].n = n;
	}
	return gather(lb, jobs, out);
}

static int job_member(struct job *j)
{
	return lbm_member_get(j->part, j->pool, j->member, &j->listing);
}

int lbm_group_member_get(struct lbm *lb, const char *pool, const char *member, struct lbm_listing *out)
{
	struct job *jobs = new_jobs(lb, job_member);

	for (size_t i = 0; jobs && i < lb->n_parts; i++) {
		jobs[i].pool = pool;
		jobs[i].member = member;
	}
	return gather(lb, jobs, out);
}

static int job_plan(struct job *j)
{
	return lbm_change_plan(j->part, j->refs, j->n, j->how, &j->change);
}

static int job_apply(struct job *j)
{
	return lbm_change_apply(j->part, j->change);
}

/* After a failure: put back what the change did on every part, the one
 * that failed too, and say so after its error. */
static void undo_all(struct lbm *lb, struct job *jobs)
{
	for (size_t i = 0; i < lb->n_parts; i++) {
		size_t len = strlen(lb->errmsg);
		int undone = lbm_change_undo(jobs[i].part, jobs[i].change);

		if (undone < 0)
			snprintf(lb->errmsg + len, sizeof(lb->errmsg) - len,
				 "; could not put it back as it was on %s: %s", jobs[i].part->name,
				 jobs[i].part->errmsg);
		else if (undone > 0)
			snprintf(lb->errmsg + len, sizeof(lb->errmsg) - len, "; put back as it was on %s",
				 jobs[i].part->name);
	}
}

/* What is left of a time of total seconds (0: none) once spent have
 * passed; a balancer reached after it still gets an instant, so that the
 * wait looks at it once and never takes it for settled unseen, and the cut
 * comes at once. */
static double still(double total, double spent)
{
	if (total <= 0)
		return 0;
	return total - spent > 0 ? total - spent : 1e-9;
}

int lbm_group_set_state(struct lbm *lb, const struct lbm_ref *refs, size_t n, const struct lbm_change *how,
			struct lbm_result *res)
{
	struct job *jobs = new_jobs(lb, job_plan);
	bool dry = how->flags & LBM_CHANGE_DRY_RUN, planned;
	double start;
	int ret;

	*res = (struct lbm_result){ 0 };
	if (!jobs)
		return lbm_fail(lb, LBM_ENOMEM, "out of memory");
	for (size_t i = 0; i < lb->n_parts; i++) {
		jobs[i].refs = refs;
		jobs[i].n = n;
		jobs[i].how = how;
	}
	/* Planned on every balancer (names, guard) before any is touched. */
	run_all(jobs, lb->n_parts);
	ret = first_failure(lb, jobs);
	planned = ret == 0;
	if (planned && !dry) {
		for (size_t i = 0; i < lb->n_parts; i++)
			jobs[i].fn = job_apply;
		run_all(jobs, lb->n_parts);
		ret = first_failure(lb, jobs);
		if (ret < 0)
			undo_all(lb, jobs);
	}
	/* One wait for all, its time shared, and one moment to cut. */
	start = lbm_now();
	for (size_t i = 0; ret == 0 && !dry && i < lb->n_parts; i++) {
		double spent = lbm_now() - start;

		ret = lbm_change_wait(jobs[i].part, jobs[i].change, still(how->wait_s, spent),
				      still(how->force_after_s, spent));
		if (ret < 0)
			ret = part_fail(lb, jobs[i].part, ret);
	}
	for (size_t i = 0; i < lb->n_parts; i++) {
		struct lbm_result part;
		char prefix[LBM_NAME_MAX + 8];

		lbm_change_finish(jobs[i].part, jobs[i].change, &part);
		snprintf(prefix, sizeof(prefix), "%s: ", jobs[i].part->name);
		/* A plan that failed anywhere changed nothing anywhere: no outcomes. */
		if (planned && lbm_result_append(res, &part, prefix) < 0 && ret == 0)
			ret = lbm_fail(lb, LBM_ENOMEM, "out of memory");
		lbm_result_free(&part);
	}
	free(jobs);
	return ret;
}

int lbm_group_save_state(struct lbm *lb, const char *path)
{
	(void)path;
	/* One file for several balancers would hold the last one's state. */
	return lbm_fail(lb, LBM_EINVAL, "save-state takes one balancer: run it once per target, each with its file");
}
