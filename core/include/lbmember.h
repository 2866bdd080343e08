/* SPDX-License-Identifier: MIT */
/**
 * @file lbmember.h
 * @brief Take load-balancer members out of rotation gently, and put them back.
 *
 * One vocabulary for LVS/IPVS, HAProxy and F5 BIG-IP LTM. A handle talks to
 * one balancer, named by a target URI: lbm_driver_info() lists the kinds
 * compiled in and how their targets are written, e.g.
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
 *
 * Listings and results own every string they point to: they stay valid
 * until lbm_listing_free() or lbm_result_free(), whatever the handle does
 * meanwhile.
 *
 * The structs a caller fills in (lbm_options, lbm_change) carry a version:
 * start from LBM_OPTIONS_INIT and LBM_CHANGE_INIT, so that fields added
 * later keep their defaults.
 */
#ifndef LBMEMBER_H
#define LBMEMBER_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LBM_VERSION "0.2.0"

/** Marks what liblbmember exports; nothing else is. */
#define LBM_EXPORT __attribute__((visibility("default")))

/** Longest reason (lbm_change.reason), with its NUL. */
#define LBM_REASON_MAX 256
/** Longest error message, with its NUL. */
#define LBM_ERRMSG_MAX 512
/** An IPv6 address with an F5 route domain ("2001:db8::1%65534"), and its NUL. */
#define LBM_ADDRESS_MAX 48
/** The largest weight any balancer takes (drivers may take less: HAProxy 256). */
#define LBM_WEIGHT_MAX 65535

/** Error codes: always negative, so `if (ret < 0)` catches them all. */
enum lbm_error {
	LBM_OK = 0,
	LBM_EINVAL = -1,      /**< bad argument: target, pool, member, option */
	LBM_ENOTFOUND = -2,   /**< no such pool or member */
	LBM_EPERM = -3,	      /**< the balancer refused: credentials, privilege, API level */
	LBM_ETIMEDOUT = -4,   /**< the balancer or a wait did not finish in time */
	LBM_EGUARD = -5,      /**< refused by min_enabled before anything was touched */
	LBM_EPROTO = -6,      /**< the balancer answered something unexpected */
	LBM_EIO = -7,	      /**< the balancer cannot be reached, or a local file failed */
	LBM_ENOTSUP = -8,     /**< not available here (no IPVS in this kernel, no libcurl for F5) */
	LBM_EHELD = -9,	      /**< changed, but the member is held out for a reason lbmember must not clear */
	LBM_ENOMEM = -10,     /**< out of memory */
	LBM_EAMBIGUOUS = -11, /**< a member name or address that fits several: give the pool, the port or the name */
	LBM_ESTANDBY = -12,   /**< refused: an F5 standby unit, whose member state config-sync copies */
	LBM_EOWNER = -13,     /**< refused: another program owns the table (keepalived) and would undo the change */
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

/* ---- opening a balancer ------------------------------------------------ */

#define LBM_OPTIONS_VERSION 2

/**
 * Options for lbm_open(). Start from LBM_OPTIONS_INIT; every field is
 * optional. Strings are not copied: they must last until lbm_open()
 * returns. Which balancer uses which option, with its help text, is in
 * lbm_option_info(): faces take their options from there.
 */
struct lbm_options {
	unsigned version;	    /**< LBM_OPTIONS_VERSION */
	double timeout_s;	    /**< bound on each exchange with the balancer; 0 means 5 s */
	const char *user;	    /**< F5 user; NULL: $LBM_F5_USER */
	const char *password;	    /**< F5 password; NULL: password_file, then $LBM_F5_PASSWORD */
	const char *password_file;  /**< file whose first line is the F5 password */
	const char *login_provider; /**< F5 loginProviderName; NULL means "tmos" */
	int basic_auth;		    /**< F5: HTTP basic auth instead of a token (old devices) */
	const char *ca_file;	    /**< CA bundle to verify the balancer's TLS certificate */
	int insecure;		    /**< do not verify TLS (only when asked for) */
	const char *state_dir;	    /**< records (reasons, LVS weights); NULL: $LBM_STATE_DIR, then /var/lib/lbmember */
	const char *state_file; /**< HAProxy: server state written after every change (load-server-state-from-file) */
	const char *sync_group; /**< F5: device group to config-sync to after a change; NULL: none */
	int ignore_owner; /**< LVS: change IPVS where keepalived owns the service (a warning says it will undo it) */
};

#define LBM_OPTIONS_INIT                                                                                               \
	{                                                                                                              \
		.version = LBM_OPTIONS_VERSION                                                                         \
	}

/** How an option's value is given. */
enum lbm_option_type {
	LBM_OPTION_SECONDS, /**< a number of seconds above 0 */
	LBM_OPTION_STRING,
	LBM_OPTION_PATH,   /**< a file or a directory */
	LBM_OPTION_SECRET, /**< a string never shown, and never taken from a command line */
	LBM_OPTION_FLAG,   /**< on or off */
};

/** One option of struct lbm_options, for faces to offer it their way. */
struct lbm_option_info {
	const char *name;  /**< "password_file"; a command line says --password-file */
	const char *alias; /**< another name faces accept ("ca_path"), or NULL */
	enum lbm_option_type type;
	const char *value;    /**< what it takes, for usage lines ("FILE"); NULL for a flag */
	const char *help;     /**< one sentence */
	const char *fallback; /**< what applies when it is not given, in words, or NULL */
	const char *schemes;  /**< the targets that use it, space separated ("f5"), NULL for all */
	int change_only;      /**< only a change uses it (state_file, sync_group): faces that only read omit it */
};

/** The i-th option (the common ones, then each driver's), or NULL past the last. */
LBM_EXPORT const struct lbm_option_info *lbm_option_info(size_t i);

/** The option named name (or by its alias), or NULL. */
LBM_EXPORT const struct lbm_option_info *lbm_option_find(const char *name);

/**
 * Set the option from its text as a user typed it (a string is kept as
 * given, not copied; seconds must be a number above 0; a flag is one of
 * true false yes no on off 1 0). Returns 0, or LBM_EINVAL with a one-line
 * message naming the option and what was expected in err (of errsz bytes).
 * The text of a secret never appears in the message.
 */
LBM_EXPORT int lbm_option_parse(struct lbm_options *opt, const struct lbm_option_info *o, const char *text, char *err,
				size_t errsz);

/** A kind of balancer compiled in, for help texts. */
struct lbm_driver_info {
	const char *scheme;  /**< "haproxy" */
	const char *name;    /**< "HAProxy": starts the messages of its errors */
	const char *usage;   /**< how a target is written: "haproxy:///PATH/admin.sock, haproxy://IP:PORT" */
	const char *summary; /**< what it reaches, one line */
	const char *naming;  /**< how pools and members are named, one line */
};

/** The i-th driver compiled in, or NULL past the last. */
LBM_EXPORT const struct lbm_driver_info *lbm_driver_info(size_t i);

struct lbm;

/**
 * Open a handle on a balancer. What can be checked without talking to it
 * (the URI, the options, an HAProxy socket path) is checked here; F5 logs
 * in here.
 *
 * target may name several balancers separated by commas (an HA pair:
 * "haproxy:///run/lb1.sock,haproxy://192.0.2.2:9999"), each opened with
 * the same options: one handle over all of them. Then every listing holds
 * the pools of each (lbm_pool.balancer says whose), and lbm_set_state()
 * plans the change on every balancer before it touches any, applies it on
 * all side by side, and puts back what it changed on the others when one
 * fails (LBM_OUTCOME_UNDONE). A failure names its balancer first.
 *
 * On success *out is the handle. On failure *out is still a handle that
 * holds the error message (read it with lbm_errmsg()), except when memory
 * ran out, where *out is NULL. Either way, pass *out to lbm_close().
 */
LBM_EXPORT int lbm_open(struct lbm **out, const char *target, const struct lbm_options *opt);

/** How many balancers the handle is over (1, or the targets given). */
LBM_EXPORT size_t lbm_balancers(const struct lbm *lb);

/** The i-th balancer's target, as opened (lbm_pool.balancer and
 *  lbm_outcome.balancer are these strings' copies); NULL past the last. */
LBM_EXPORT const char *lbm_balancer(const struct lbm *lb, size_t i);

/** Close a handle and release what it holds. NULL is allowed. */
LBM_EXPORT void lbm_close(struct lbm *lb);

/** The last error's message; never NULL (lb NULL gives "out of memory"). */
LBM_EXPORT const char *lbm_errmsg(const struct lbm *lb);

/** The name of an error code without its prefix: "ENOTFOUND", "ETIMEDOUT"... */
LBM_EXPORT const char *lbm_strerror(int code);

/** "enabled", "draining", "disabled" or "unknown". */
LBM_EXPORT const char *lbm_state_name(enum lbm_state state);

/** Parse a state name, accepting the verbs too ("enable", "drain", "disable"). */
LBM_EXPORT int lbm_state_parse(const char *name, enum lbm_state *out);

/** "up", "down" or "unknown". */
LBM_EXPORT const char *lbm_health_name(enum lbm_health health);

/* ---- reading --------------------------------------------------------------- */

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
	/** Has an agent (HAProxy agent-check) that can drain, disable or
	 *  enable it on its own. */
	LBM_MEMBER_AGENT = 1u << 2,
};

/** One member of a pool, as the balancer reports it. */
struct lbm_member {
	const char *name; /**< HAProxy server name, LVS "IP:PORT", F5 "/Partition/NODE:PORT" */
	/** The balancer's own words for the state, e.g. "MAINT (via b/s)", "Route",
	 *  "user-disabled/user-down": what an operator would look up. */
	const char *status;
	/** Why the member is out of rotation in a way that enabling it through
	 *  lbmember will not change, e.g. "maintenance inherited from tracked
	 *  server b/s"; NULL when nothing holds it. */
	const char *held;
	/** "POOL/MEMBER" of the member whose state this one inherits (HAProxy
	 *  `track`; F5: the template of an ephemeral member): when that one is
	 *  drained or disabled, so is this one. NULL when it follows none. */
	const char *follows;
	char address[LBM_ADDRESS_MAX]; /**< IP address (F5 may add a route domain "%N"); "" when none */
	unsigned port;
	enum lbm_state state;
	enum lbm_health health;
	int weight;	    /**< -1 when the balancer has none */
	int restore_weight; /**< the weight enabling restores (LVS records it); -1 when none is recorded */
	unsigned flags;	    /**< enum lbm_member_flags */
	long active;	    /**< current connections; -1 when not reported (never taken for 0) */
	long inactive;	    /**< LVS InActConn; -1 when not reported */
	/** Who took the member out of rotation through lbmember, when and why,
	 *  as recorded in the state directory (lbm_change.reason): NULL, NULL
	 *  and 0 when there is no record, as for a member in rotation or one
	 *  taken out by other means. */
	const char *reason; /**< as given; "" when none was given */
	const char *by;	    /**< $SUDO_USER, else the login name */
	long long since;    /**< seconds since the epoch, UTC */
};

/** A pool: HAProxy backend, LVS virtual service, F5 pool. */
struct lbm_pool {
	const char *balancer; /**< the target of the balancer that reported it, as opened */
	const char *name;
	const char *detail; /**< e.g. LVS "rr persistent 60"; "" when none */
	size_t n_members;
	struct lbm_member *members;
};

struct lbm_strings;

/** Pools and their members, with every string they point to. */
struct lbm_listing {
	size_t n;
	struct lbm_pool *pools;
	/** Why lbmember's records (lbm_member.reason) could not be read, so
	 *  that no member shows one: NULL when they were (or there are none). */
	const char *records_error;
	struct lbm_strings *strings; /**< private: owns the strings */
};

/**
 * List pools and their members: the n pools named (in the balancer's
 * canonical spelling, in their order, each once), or every pool when names
 * is NULL. One exchange where the balancer allows it. An unknown pool is
 * LBM_ENOTFOUND. Free the listing with lbm_listing_free().
 */
LBM_EXPORT int lbm_pools(struct lbm *lb, const char *const *names, size_t n, struct lbm_listing *out);

/** Release a listing; safe twice and on a zeroed one. */
LBM_EXPORT void lbm_listing_free(struct lbm_listing *listing);

/**
 * Read one member: *out is a listing of one pool, the one that holds it,
 * with that member only. pool NULL (or "-") finds it in the one pool that
 * holds it (LBM_EAMBIGUOUS when several do). Free with lbm_listing_free().
 */
LBM_EXPORT int lbm_member_get(struct lbm *lb, const char *pool, const char *member, struct lbm_listing *out);

/** Whether m takes new connections: enabled, not down, weight not 0, and
 *  not a template (which takes none itself). What the guard counts. */
LBM_EXPORT int lbm_member_in_rotation(const struct lbm_member *m);

/* ---- changing ---------------------------------------------------------------- */

/** Flags of struct lbm_change, saying which optional fields are set. */
enum lbm_change_flags {
	LBM_CHANGE_HAS_WEIGHT = 1u << 0,      /**< set weight (only with LBM_STATE_ENABLED) */
	LBM_CHANGE_HAS_MIN_ENABLED = 1u << 1, /**< use min_enabled instead of the default 1 */
	LBM_CHANGE_DRY_RUN = 1u << 2,	      /**< compute the result, write nothing */
};

struct lbm_progress;

/** Called by lbm_set_state() while it works: see struct lbm_progress. */
typedef void lbm_progress_fn(const struct lbm_progress *progress, void *arg);

#define LBM_CHANGE_VERSION 2

/** How to change members. Start from LBM_CHANGE_INIT, then set state and flags. */
struct lbm_change {
	unsigned version; /**< LBM_CHANGE_VERSION */
	enum lbm_state state;
	unsigned flags;	      /**< enum lbm_change_flags */
	unsigned weight;      /**< with LBM_CHANGE_HAS_WEIGHT: 0 to LBM_WEIGHT_MAX */
	unsigned min_enabled; /**< with LBM_CHANGE_HAS_MIN_ENABLED; default 1 */
	/** After the change, wait up to this long for the members to settle:
	 *  active connections 0 after draining or disabling, health up (or
	 *  unchecked) after enabling. 0: do not wait. */
	double wait_s;
	lbm_progress_fn *progress; /**< optional; with progress_arg */
	void *progress_arg;
	/** Why, for draining or disabling: recorded with who and when in the
	 *  state directory (lbm_options.state_dir), read back as
	 *  lbm_member.reason; enabling clears the record. One line of at most
	 *  LBM_REASON_MAX - 1 bytes; NULL: none (who and when are still
	 *  recorded). With a reason, a record that cannot be written refuses
	 *  the change before anything is touched. */
	const char *reason;
	/** With wait_s, for draining or disabling: once this many seconds have
	 *  passed and connections remain, cut them where the balancer can
	 *  (lbm_outcome.cut), then wait for the rest. Below wait_s; 0: never.
	 *  Refused before anything is touched where the balancer cannot. */
	double force_after_s;
};

#define LBM_CHANGE_INIT                                                                                                \
	{                                                                                                              \
		.version = LBM_CHANGE_VERSION                                                                          \
	}

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
	/** Several balancers (lbm_open() with several targets): the change was
	 *  made here, then put back as `before` because another balancer
	 *  failed. `after` is what this balancer reports once put back. */
	LBM_OUTCOME_UNDONE,
	/** The same, but putting it back failed: the member stays as `after`;
	 *  the call's error says why. */
	LBM_OUTCOME_NOT_UNDONE,
};

/** What happened to one member in one pool. */
struct lbm_outcome {
	const char *balancer; /**< the target of its balancer, as opened */
	const char *pool;
	struct lbm_member before;
	struct lbm_member after; /**< read back from the balancer (predicted on a dry run) */
	int changed;		 /**< state or weight differ (never connections or health) */
	enum lbm_outcome_result result;
	int waiting; /**< during a wait: not settled yet (connections left, health down) */
	long cut;    /**< connections cut (lbm_change.force_after_s), as last counted; 0: none */
};

/** Result of lbm_set_state(). Zeroed on entry; free it with lbm_result_free(). */
struct lbm_result {
	int changed; /**< any outcome changed */
	size_t n;
	struct lbm_outcome *outcomes;
	size_t n_warnings;
	const char **warnings;	     /**< advice that is not an error, each said once */
	struct lbm_strings *strings; /**< private: owns the strings */
};

/**
 * What a progress callback is told: first once the change is made and read
 * back (waiting 0 when there is nothing to wait for), then after every look
 * at the balancer during a wait, at least once a second, each outcome's
 * `after` and `waiting` up to date. The pointers are valid during the call.
 */
struct lbm_progress {
	const struct lbm_result *result;
	size_t waiting;	 /**< outcomes not settled yet */
	double waited_s; /**< since the wait began */
	double left_s;	 /**< until it gives up */
};

/**
 * Set the state of n members in one go.
 *
 * Everything is checked before anything is touched: unknown pools or
 * members, a weight with a state other than enabled, what the balancer
 * cannot do (a weight out of its range, a member it makes itself), and the
 * min_enabled guard. The guard (LBM_EGUARD) refuses a change that takes a
 * member of a pool out of rotation when fewer than min_enabled members of
 * that pool would then stay in rotation (lbm_member_in_rotation()). It
 * judges each pool as it will be after the change, members that follow a
 * changed one (lbm_member.follows) included, in whatever pool they are. A
 * change that takes nothing out of rotation (enabling) is never refused.
 *
 * Members already as asked are left alone (LBM_OUTCOME_UNCHANGED). The
 * changes are then sent as one batch where the balancer allows it, read
 * back, and waited for when how->wait_s is set. Waiting for connections to
 * finish fails at once with LBM_ENOTSUP (the change made and reported) when
 * the balancer gives no connection count for a member: lbmember never takes
 * "not reported" for 0.
 *
 * res is filled whenever the call got as far as reading the members, even
 * when it then fails; each outcome's result tells what was done before the
 * failure. Free it with lbm_result_free().
 */
LBM_EXPORT int lbm_set_state(struct lbm *lb, const struct lbm_ref *refs, size_t n, const struct lbm_change *how,
			     struct lbm_result *res);

/** lbm_set_state() for one member. */
LBM_EXPORT int lbm_member_set_state(struct lbm *lb, const char *pool, const char *member, const struct lbm_change *how,
				    struct lbm_result *res);

/** Release a result; safe twice and on a zeroed one. */
LBM_EXPORT void lbm_result_free(struct lbm_result *res);

/** "unchanged", "applied", "not_applied", "would_apply", "undone" or "not_undone". */
LBM_EXPORT const char *lbm_outcome_result_name(enum lbm_outcome_result result);

/**
 * Write the balancer's runtime state where it reloads it from, atomically
 * (a temporary file beside path, fsynced, renamed over it): HAProxy's
 * `show servers state`, which 'server-state-file' and
 * 'load-server-state-from-file' make a reload keep; for an ExecReload hook.
 * path is absolute. LBM_ENOTSUP where the balancer keeps its state itself.
 */
LBM_EXPORT int lbm_save_state(struct lbm *lb, const char *path);

#ifdef __cplusplus
}
#endif

#endif
