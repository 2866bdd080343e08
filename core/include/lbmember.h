/* SPDX-License-Identifier: MIT */
/**
 * @file lbmember.h
 * @brief Take load-balancer members out of rotation gently, and put them back.
 *
 * One vocabulary for LVS/IPVS, HAProxy and F5 BIG-IP LTM. A handle talks to
 * one balancer, named by a target URI:
 *
 *  - `lvs://` or `lvs://?netns=NAME`: the local kernel's IPVS table.
 *  - `haproxy:///run/haproxy/admin.sock` or `haproxy://127.0.0.1:9999`: one
 *    HAProxy process through its runtime API.
 *  - `f5://HOST[:PORT]`: a BIG-IP's iControl REST API over HTTPS.
 *
 * Every function that can fail returns 0 or a negative ::lbm_error and leaves
 * a one-line message on the handle, read with lbm_errmsg(). Handles share no
 * state: two handles may be used from two threads at once, one handle from
 * one thread at a time.
 */
#ifndef LBMEMBER_H
#define LBMEMBER_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LBM_VERSION "0.1.0"

/** Longest pool or member name, address or detail string, with its NUL. */
#define LBM_NAME_MAX 256
/** Longest error message, with its NUL. */
#define LBM_ERRMSG_MAX 512

/** Error codes: always negative, so `if (ret < 0)` catches them all. */
enum lbm_error {
	LBM_OK = 0,
	LBM_EINVAL = -1,    /**< bad argument: target, pool, member, option */
	LBM_ENOTFOUND = -2, /**< no such pool or member */
	LBM_EPERM = -3,     /**< the balancer refused: credentials, privilege, API level */
	LBM_ETIMEDOUT = -4, /**< the balancer or a wait did not finish in time */
	LBM_EGUARD = -5,    /**< refused by min_enabled before anything was touched */
	LBM_EPROTO = -6,    /**< the balancer answered something unexpected */
	LBM_EIO = -7,       /**< the balancer cannot be reached, or a local file failed */
	LBM_ENOTSUP = -8,   /**< not available here (no IPVS in this kernel, no libcurl for F5) */
	LBM_EHELD = -9,     /**< changed, but the member is held out for a reason lbmember must not clear */
	LBM_ENOMEM = -10,   /**< out of memory */
};

/** Administrative state of a member. */
enum lbm_state {
	LBM_STATE_UNKNOWN = 0,
	LBM_STATE_ENABLED,  /**< takes new connections */
	LBM_STATE_DRAINING, /**< no new connections; existing and persistent ones continue */
	LBM_STATE_DISABLED, /**< out of rotation entirely */
};

/** What the balancer's health checks say. */
enum lbm_health {
	LBM_HEALTH_UNKNOWN = 0, /**< no check configured, or not reported */
	LBM_HEALTH_UP,
	LBM_HEALTH_DOWN,
};

/** Options for lbm_open(). Zero-initialise; every field is optional. */
struct lbm_options {
	double timeout_s;          /**< bound on each exchange with the balancer; 0 means 5 s */
	const char *user;          /**< F5 user; NULL: $LBM_F5_USER */
	const char *password;      /**< F5 password; NULL: password_file, then $LBM_F5_PASSWORD */
	const char *password_file; /**< file whose first line is the F5 password */
	const char *login_provider; /**< F5 loginProviderName; NULL means "tmos" */
	int basic_auth;            /**< F5: HTTP basic auth instead of a token (old devices) */
	const char *ca_file;       /**< CA bundle to verify the balancer's TLS certificate */
	int insecure;              /**< do not verify TLS (only when asked for) */
	const char *state_dir;     /**< LVS state store; NULL: $LBM_STATE_DIR, then /var/lib/lbmember */
};

/** Flags of struct lbm_member: what kind of member the balancer says it is. */
enum lbm_member_flags {
	/** Stands for the members the balancer makes from it (F5: an FQDN pool
	 *  member, whose address BIG-IP resolves from DNS); takes no
	 *  connection itself, so it never counts as in rotation. */
	LBM_MEMBER_TEMPLATE = 1u << 0,
	/** Made, and replaced, by the balancer from a template (F5: the
	 *  `_auto_ADDR:PORT` members of an FQDN member; follows names the
	 *  template). lbmember refuses to change it: change the template. */
	LBM_MEMBER_EPHEMERAL = 1u << 1,
};

/** One member of a pool, as the balancer reports it. */
struct lbm_member {
	char name[LBM_NAME_MAX];    /**< HAProxy server name, LVS "IP:PORT", F5 "/Partition/ADDR:PORT" */
	char address[LBM_NAME_MAX]; /**< IP address (F5 may add a route domain "%N") */
	unsigned port;
	enum lbm_state state;
	enum lbm_health health;
	int weight;   /**< -1 when the balancer has none */
	long active;  /**< current connections; -1 when not reported */
	long inactive; /**< LVS InActConn; -1 when not reported */
	/** The balancer's own words for the state, e.g. "MAINT (via b/s)", "Route",
	 *  "user-disabled/user-down": what an operator would look up. */
	char status[LBM_NAME_MAX];
	/** Non-empty when the member is out of rotation for a reason that
	 *  enabling it through lbmember will not clear, e.g. "maintenance
	 *  inherited from tracked server b/s". */
	char held[LBM_NAME_MAX];
	/** "POOL/MEMBER" of the member whose state this one inherits (HAProxy
	 *  `track`; F5: the template of an ephemeral member): when that one is
	 *  drained or disabled, so is this one. Empty when it follows none. */
	char follows[LBM_NAME_MAX];
	unsigned flags; /**< enum lbm_member_flags */
};

/** A pool: HAProxy backend, LVS virtual service, F5 pool. */
struct lbm_pool {
	char name[LBM_NAME_MAX];
	char detail[LBM_NAME_MAX]; /**< e.g. LVS "rr persistent 60" */
	size_t n_members;
	struct lbm_member *members;
};

/** Flags of struct lbm_change, saying which optional fields are set. */
enum lbm_change_flags {
	LBM_CHANGE_HAS_WEIGHT = 1u << 0,      /**< set weight (only with LBM_STATE_ENABLED) */
	LBM_CHANGE_HAS_MIN_ENABLED = 1u << 1, /**< use min_enabled instead of the default 1 */
	LBM_CHANGE_DRY_RUN = 1u << 2,         /**< compute the result, write nothing */
};

/** How to change members. Zero-initialise, then set state and flags. */
struct lbm_change {
	enum lbm_state state;
	unsigned flags;       /**< enum lbm_change_flags */
	unsigned weight;      /**< with LBM_CHANGE_HAS_WEIGHT */
	unsigned min_enabled; /**< with LBM_CHANGE_HAS_MIN_ENABLED; default 1 */
	/** After the change, wait up to this long for the member to settle:
	 *  active connections 0 after draining or disabling, health up (or
	 *  unchecked) after enabling. 0: do not wait. */
	double wait_s;
};

/** A member to change: pool NULL (or "-") means every pool that holds it. */
struct lbm_ref {
	const char *pool;
	const char *member;
};

/** What lbmember did to one member, told apart even when the call failed. */
enum lbm_outcome_result {
	/** Already as asked: nothing was sent for it. */
	LBM_OUTCOME_UNCHANGED = 0,
	/** The change was sent and the balancer took it. `after` is what it
	 *  reports now, which may still differ from what was asked when the
	 *  member is held (see lbm_member.held and the call's error). */
	LBM_OUTCOME_APPLIED,
	/** A change was needed but not made: the call failed before the
	 *  balancer took it. The member is as `before`, as far as lbmember
	 *  can tell. */
	LBM_OUTCOME_NOT_APPLIED,
	/** Dry run: the change would be sent; nothing was. */
	LBM_OUTCOME_WOULD_APPLY,
};

/** What happened to one member in one pool. */
struct lbm_outcome {
	char pool[LBM_NAME_MAX];
	struct lbm_member before;
	struct lbm_member after; /**< read back from the balancer (predicted on a dry run) */
	int changed;             /**< state or weight differ (never connections or health) */
	enum lbm_outcome_result result;
};

/** Result of lbm_set_state(). Free with lbm_result_free(). */
struct lbm_result {
	int changed; /**< any outcome changed */
	size_t n;
	struct lbm_outcome *outcomes;
	char warning[LBM_ERRMSG_MAX]; /**< advice that is not an error; empty if none */
};

struct lbm;

/**
 * Open a handle on a balancer.
 *
 * On success *out is the handle. On failure *out is still a handle that
 * holds the error message (read it with lbm_errmsg()), except when memory
 * ran out, where *out is NULL. Either way, pass *out to lbm_close().
 */
int lbm_open(struct lbm **out, const char *target, const struct lbm_options *opt);

/** Close a handle and release what it holds. NULL is allowed. */
void lbm_close(struct lbm *lb);

/** The last error's message; never NULL (lb NULL gives "out of memory"). */
const char *lbm_errmsg(const struct lbm *lb);

/** The name of an error code without its prefix: "ENOTFOUND", "ETIMEDOUT"... */
const char *lbm_strerror(int code);

/** "enabled", "draining", "disabled" or "unknown". */
const char *lbm_state_name(enum lbm_state state);

/** Parse a state name, accepting the verbs too ("enable", "drain", "disable"). */
int lbm_state_parse(const char *name, enum lbm_state *out);

/** "up", "down" or "unknown". */
const char *lbm_health_name(enum lbm_health health);

/** Whether m takes new connections: enabled, not down, weight not 0, and
 *  not a template (which takes none itself). What the guard counts. */
int lbm_member_in_rotation(const struct lbm_member *m);

/** "unchanged", "applied", "not_applied" or "would_apply". */
const char *lbm_outcome_result_name(enum lbm_outcome_result result);

/**
 * List pools and their members. pool NULL lists all of them; otherwise only
 * that pool, or LBM_ENOTFOUND. Free the array with lbm_pools_free().
 */
int lbm_pools(struct lbm *lb, const char *pool, struct lbm_pool **pools, size_t *n);

void lbm_pools_free(struct lbm_pool *pools, size_t n);

/** Read one member. pool NULL finds it in the one pool that holds it. */
int lbm_member_get(struct lbm *lb, const char *pool, const char *member, struct lbm_member *out);

/**
 * Set the state of n members in one go.
 *
 * Everything is checked before anything is touched: unknown pools or
 * members, a weight with a state other than enabled, and the min_enabled
 * guard. The guard (LBM_EGUARD) refuses a change that takes a member of a
 * pool out of rotation when fewer than min_enabled members of that pool
 * would then stay in rotation: enabled, not down, weight not 0. It judges
 * each pool as it will be after the change, members that follow a changed
 * one (lbm_member.follows) included, in whatever pool they are. A change
 * that takes nothing out of rotation (enabling) is never refused.
 *
 * Members already as asked are left alone (LBM_OUTCOME_UNCHANGED). The
 * changes are then sent as one batch where the balancer allows it, read
 * back, and waited for when how->wait_s is set. Waiting for connections
 * to finish fails at once with LBM_ENOTSUP (the change made and reported)
 * when the balancer gives no connection count for a member: lbmember never
 * takes "not reported" for 0.
 *
 * res is filled whenever the call got as far as reading the members, even
 * when it then fails; each outcome's result tells what was done before the
 * failure. Free it with lbm_result_free().
 */
int lbm_set_state(struct lbm *lb, const struct lbm_ref *refs, size_t n,
		  const struct lbm_change *how, struct lbm_result *res);

/** lbm_set_state() for one member. */
int lbm_member_set_state(struct lbm *lb, const char *pool, const char *member,
			 const struct lbm_change *how, struct lbm_result *res);

void lbm_result_free(struct lbm_result *res);

#ifdef __cplusplus
}
#endif

#endif
