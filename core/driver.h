/* SPDX-License-Identifier: MIT */
/* For driver writers only: faces include lbmember.h and nothing else.
 * Nothing here is exported from liblbmember. */
#ifndef LBM_DRIVER_H
#define LBM_DRIVER_H

#include "lbmember.h"

#include <stdarg.h>
#include <stdbool.h>

/* Longest pool or member name the core handles in a fixed buffer
 * (canonical pool names, "POOL/MEMBER" texts), with its NUL. */
#define LBM_NAME_MAX 256

/* One planned change, handed to a driver's apply(). */
struct lbm_item {
	const char *pool;		 /* canonical pool name, as listed */
	const struct lbm_member *member; /* the member as listed before the change */
	enum lbm_state state;		 /* wanted */
	int weight;			 /* wanted weight; -1: keep (LVS: restore the recorded one) */
	bool done;			 /* set by apply() once the balancer accepted it */
};

/* An option a driver uses: struct lbm_options holds its value, at offset. */
struct lbm_option_def {
	struct lbm_option_info info;
	size_t offset;
};

#define LBM_OPTION_AT(field) offsetof(struct lbm_options, field)

struct lbm_driver {
	struct lbm_driver_info info; /* scheme, name ("HAProxy": starts every message it sets), help texts */
	/* Its options, ending with a zeroed one; NULL: none but the common ones. */
	const struct lbm_option_def *options;

	/* location: what follows "scheme://". Store private data in lb->priv. */
	int (*open)(struct lbm *lb, const char *location, const struct lbm_options *opt);
	/* Must cope with a failed or half-done open. */
	void (*close)(struct lbm *lb);
	/* names NULL: every pool; otherwise the n pools named (canonical, each
	 * once), in that order, in one exchange where the balancer allows:
	 * an unknown one is LBM_ENOTFOUND. Grow out with lbm_pool_add() and
	 * lbm_pool_add_member(); every string stored in it comes from
	 * lbm_str()/lbm_strf(). The core frees out, also on failure. */
	int (*list)(struct lbm *lb, const char *const *names, size_t n, struct lbm_listing *out);
	/* Apply every item in one batch where the balancer allows it; mark each
	 * one done as soon as it is known to be applied, so that a failure half
	 * way tells the truth about what was changed. */
	int (*apply)(struct lbm *lb, struct lbm_item *items, size_t n);

	/* Optional: the canonical spelling of a pool name a user typed (F5 adds
	 * the /Common/ partition, LVS normalises addresses). Return 0, or
	 * LBM_EINVAL with a message naming what was expected. */
	int (*pool_name)(struct lbm *lb, const char *typed, char *out, size_t outsz);
	/* Optional: whether typed names m in some other spelling than its
	 * name (F5: without its "/Partition/"), tried after the exact name. */
	bool (*names_member)(const struct lbm_member *m, const char *typed);
	/* Optional: refuse, before anything is touched (a dry run too), a
	 * change this balancer cannot make (a weight out of its range...).
	 * Return 0, or LBM_EINVAL with a message. */
	int (*check)(struct lbm *lb, const struct lbm_item *item);
	/* Optional: once per call that needs a change, after check() passed
	 * every item and before anything is touched (a dry run too): refuse
	 * what this balancer must not change now (F5: a standby unit).
	 * Return 0, or an error with a message. */
	int (*before_change)(struct lbm *lb);
	/* Optional: fill in what a dry run would read back after the change,
	 * beyond the state and explicit weight the core already sets (LVS:
	 * draining means weight 0). */
	void (*predict)(const struct lbm_item *item, struct lbm_member *after);
	/* Optional: after a change was applied, or found already made (not on
	 * a dry run, nor after a failed apply): what the balancer needs beyond
	 * its members, such as an F5 device group's config-sync, which a
	 * change found already made may still lack. It can only warn. */
	void (*after_change)(struct lbm *lb);
	/* Optional: cut the open connections of a drained or disabled member
	 * now (lbm_change.force_after_s). Without it, force_after_s is refused
	 * before anything is touched, with cannot_cut as the reason. */
	int (*cut)(struct lbm *lb, const char *pool, const struct lbm_member *m);
	const char *cannot_cut;
	/* Optional: write the runtime state where the balancer reloads it from
	 * (lbm_save_state()); path is absolute. */
	int (*save_state)(struct lbm *lb, const char *path);
};

struct lbm {
	const struct lbm_driver *driver; /* NULL for a group */
	void *priv;
	char *name; /* the target it was opened with: names the balancer in results */
	/* A group (targets separated by commas, core/group.c): a handle per
	 * balancer, each with its driver. */
	struct lbm **parts;
	size_t n_parts;
	double timeout_s;
	/* Set by open() when a member may follow (lbm_member.follows) a member
	 * of another pool: the guard then lists every pool to judge a change. */
	bool follows_across_pools;
	char *state_dir; /* lbm_options.state_dir as given, or NULL: see core/records.c */
	char errmsg[LBM_ERRMSG_MAX];
	/* Advice gathered during one call (lbm_warn()), for its result. */
	char **warnings;
	size_t n_warnings;
};

/* Set the handle's message and return code. lbm_fail() is for the core;
 * lbm_driver_fail() starts the message with "<driver name>: ". */
int lbm_fail(struct lbm *lb, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int lbm_driver_fail(struct lbm *lb, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Advice for the caller that is not an error (lbm_result.warnings); the
 * same words twice in one call are said once. */
void lbm_warn(struct lbm *lb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Growing a listing for list(). Both return NULL when memory runs out; a
 * pool pointer is valid until the next lbm_pool_add(). */
struct lbm_pool *lbm_pool_add(struct lbm_listing *l, const char *name);
struct lbm_member *lbm_pool_add_member(struct lbm_listing *l, struct lbm_pool *pool, const char *name);
/* A copy of s (or a formatted string) owned by the listing. When memory
 * runs out they return "" and the listing remembers it: the core then
 * fails the call with LBM_ENOMEM. */
const char *lbm_str(struct lbm_listing *l, const char *s);
const char *lbm_strf(struct lbm_listing *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Copy src into a fixed buffer; false (and dst truncated) when it did not fit. */
bool lbm_copy(char *dst, size_t dstsz, const char *src);

/* Monotonic clock in seconds, for deadlines. */
double lbm_now(void);

/* Sleep s seconds, the whole of them even when a signal interrupts. */
void lbm_sleep(double s);

/* Sleep *delay seconds, then double it up to cap: polling that looks again
 * soon, then less and less often. */
void lbm_backoff(double *delay, double cap);

/* Split "ADDR", "ADDR:PORT", "[V6]" or "[V6]:PORT" (and a bare "V6").
 * port is 0 when none was given. Returns false when it is none of those. */
bool lbm_split_hostport(const char *s, char *addr, size_t addrsz, unsigned *port);

#endif
