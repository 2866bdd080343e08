// SPDX-License-Identifier: MIT
/* F5 BIG-IP LTM over iControl REST, with libcurl and jansson.
 *
 * One token per handle: logged in at open, sent as X-F5-Auth-Token, renewed
 * once when BIG-IP says it expired, deleted at close (a user may hold only
 * 100). Every exchange goes through one curl multi handle, so its
 * connections are reused and independent requests (each pool's statistics,
 * the commands of a transaction) travel side by side instead of one round
 * trip after another. Several changes are one transaction: all or nothing. */
#define _DEFAULT_SOURCE

#include "driver.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>
#include <time.h>

/* An answer larger than this is not iControl REST talking. */
#define F5_BODY_MAX (64u << 20)
/* Connections opened side by side to one BIG-IP. */
#define F5_PARALLEL 8
#define F5_TOKEN_MAX 128
#define F5_PATH_MAX (4 * LBM_NAME_MAX)
#define F5_ALNUM "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

struct f5 {
	CURLM *multi;
	char base[LBM_NAME_MAX + 32];  /* https://HOST:PORT */
	char where[LBM_NAME_MAX + 16]; /* HOST:PORT, for messages */
	char user[LBM_NAME_MAX];
	char *password;
	char provider[64];
	char token[F5_TOKEN_MAX];
	char *ca_file;
	char sync_group[LBM_NAME_MAX]; /* "": none */
	bool basic;
	bool insecure;
};

/* One HTTP request and its answer. */
struct req {
	const char *method;
	char path[F5_PATH_MAX];
	char *body;	   /* owned; NULL: none */
	const char *trans; /* X-F5-REST-Coordination-Id, or NULL */
	bool todo;
	CURL *easy;
	struct curl_slist *headers;
	CURLcode result;
	long status;
	char *resp;
	size_t len;
	bool retried;
	char errbuf[CURL_ERROR_SIZE];
};

/* libcurl is opened with the first f5:// handle instead of being linked: a
 * linked libcurl loads some 35 libraries (TLS, Kerberos, LDAP, SSH...) into
 * every program that uses the core, 17 ms and 6.5 MiB at each start of a
 * call to HAProxy or LVS that never uses it (docs/performance.md). */
#define CURL_FUNCTIONS(X)                                                                                              \
	X(global_init)                                                                                                 \
	X(easy_init)                                                                                                   \
	X(easy_setopt)                                                                                                 \
	X(easy_getinfo)                                                                                                \
	X(easy_cleanup)                                                                                                \
	X(easy_strerror)                                                                                               \
	X(easy_unescape)                                                                                               \
	X(free)                                                                                                        \
	X(slist_append)                                                                                                \
	X(slist_free_all)                                                                                              \
	X(multi_init)                                                                                                  \
	X(multi_setopt)                                                                                                \
	X(multi_add_handle)                                                                                            \
	X(multi_remove_handle)                                                                                         \
	X(multi_perform)                                                                                               \
	X(multi_poll)                                                                                                  \
	X(multi_info_read)                                                                                             \
	X(multi_strerror)                                                                                              \
	X(multi_cleanup)

#define CURL_POINTER(f) __typeof__(curl_##f) *f;
static struct {
	CURL_FUNCTIONS(CURL_POINTER)
} curl;
static char curl_missing[256]; /* why libcurl could not be loaded, or "" */
static once_flag curl_once = ONCE_FLAG_INIT;

static void load_curl(void)
{
	void *so = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
	const char *why = so ? NULL : dlerror();

#define CURL_LOOKUP(f)                                                                                                 \
	if (!why && !(curl.f = dlsym(so, "curl_" #f)))                                                                 \
		why = "curl_" #f " is missing";
	CURL_FUNCTIONS(CURL_LOOKUP)
	/* Once here, not implicitly by the first easy handle, which is not
	 * thread-safe. */
	if (!why && curl.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		why = "curl_global_init failed";
	if (why)
		snprintf(curl_missing, sizeof(curl_missing), "%s", why);
}

static void wipe_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

static void req_reset(struct req *r)
{
	if (r->resp)
		explicit_bzero(r->resp, r->len); /* a login answer holds a token */
	free(r->resp);
	r->resp = NULL;
	r->len = 0;
	r->status = 0;
	r->result = CURLE_OK;
	r->errbuf[0] = '\0';
}

static void req_free(struct req *r)
{
	req_reset(r);
	wipe_free(r->body);
	r->body = NULL;
}

static size_t on_data(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct req *r = userdata;
	size_t len = size * nmemb;
	char *grown;

	if (r->len + len > F5_BODY_MAX)
		return 0;
	grown = realloc(r->resp, r->len + len + 1);
	if (!grown)
		return 0;
	memcpy(grown + r->len, data, len);
	r->len += len;
	grown[r->len] = '\0';
	r->resp = grown;
	return len;
}

static int add_header(struct req *r, const char *name, const char *value)
{
	char line[F5_TOKEN_MAX + 64];
	struct curl_slist *grown;

	snprintf(line, sizeof(line), "%s: %s", name, value);
	grown = curl.slist_append(r->headers, line);
	explicit_bzero(line, sizeof(line));
	if (!grown)
		return -1;
	r->headers = grown;
	return 0;
}

#define SET(opt, val)                                                                                                  \
	do {                                                                                                           \
		if (rc == CURLE_OK)                                                                                    \
			rc = curl.easy_setopt(e, opt, val);                                                            \
	} while (0)

static int setup(struct lbm *lb, struct req *r)
{
	struct f5 *f5 = lb->priv;
	long timeout_ms = (long)(lb->timeout_s * 1000.0);
	char url[LBM_NAME_MAX + 32 + F5_PATH_MAX];
	CURLcode rc = CURLE_OK;
	CURL *e;

	r->easy = e = curl.easy_init();
	if (!e)
		return lbm_fail(lb, LBM_ENOMEM, "out of memory");
	snprintf(url, sizeof(url), "%s%s", f5->base, r->path);
	if (add_header(r, "Content-Type", "application/json") < 0 || add_header(r, "Expect", "") < 0 ||
	    (f5->token[0] && add_header(r, "X-F5-Auth-Token", f5->token) < 0) ||
	    (r->trans && add_header(r, "X-F5-REST-Coordination-Id", r->trans) < 0))
		return lbm_fail(lb, LBM_ENOMEM, "out of memory");
	SET(CURLOPT_URL, url);
	SET(CURLOPT_CUSTOMREQUEST, r->method);
	if (r->body) {
		SET(CURLOPT_POSTFIELDS, r->body);
		SET(CURLOPT_POSTFIELDSIZE, (long)strlen(r->body));
	}
	SET(CURLOPT_HTTPHEADER, r->headers);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 1L);
	SET(CURLOPT_CONNECTTIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	SET(CURLOPT_PROTOCOLS_STR, "https");
#else
	SET(CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTPS);
#endif
	SET(CURLOPT_SSL_VERIFYPEER, f5->insecure ? 0L : 1L);
	SET(CURLOPT_SSL_VERIFYHOST, f5->insecure ? 0L : 2L);
	if (f5->ca_file)
		SET(CURLOPT_CAINFO, f5->ca_file);
	if (f5->basic) {
		SET(CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		SET(CURLOPT_USERNAME, f5->user);
		SET(CURLOPT_PASSWORD, f5->password);
	}
	SET(CURLOPT_USERAGENT, "lbmember/" LBM_VERSION);
	SET(CURLOPT_ERRORBUFFER, r->errbuf);
	SET(CURLOPT_WRITEFUNCTION, on_data);
	SET(CURLOPT_WRITEDATA, r);
	SET(CURLOPT_PRIVATE, r);
	if (rc != CURLE_OK)
		return lbm_driver_fail(lb, LBM_EIO, "libcurl refused an option: %s", curl.easy_strerror(rc));
	return 0;
}

#undef SET

static void cleanup(struct lbm *lb, struct req *r)
{
	struct f5 *f5 = lb->priv;

	if (r->easy) {
		curl.multi_remove_handle(f5->multi, r->easy);
		curl.easy_cleanup(r->easy);
		r->easy = NULL;
	}
	curl.slist_free_all(r->headers);
	r->headers = NULL;
}

/* Send every request marked todo, side by side, and wait for all answers.
 * Each transfer is bounded by lb->timeout_s, so this ends. */
static int run(struct lbm *lb, struct req *reqs, size_t n)
{
	struct f5 *f5 = lb->priv;
	CURLMcode mc = CURLM_OK;
	CURLMsg *msg;
	int running, left, ret = 0;

	for (size_t i = 0; i < n && !ret; i++) {
		if (!reqs[i].todo)
			continue;
		req_reset(&reqs[i]);
		ret = setup(lb, &reqs[i]);
		if (!ret && curl.multi_add_handle(f5->multi, reqs[i].easy) != CURLM_OK)
			ret = lbm_fail(lb, LBM_ENOMEM, "out of memory");
	}
	if (!ret) {
		do {
			mc = curl.multi_perform(f5->multi, &running);
			if (mc == CURLM_OK && running)
				mc = curl.multi_poll(f5->multi, NULL, 0, 1000, NULL);
		} while (mc == CURLM_OK && running);
		if (mc != CURLM_OK)
			ret = lbm_driver_fail(lb, LBM_EIO, "libcurl: %s", curl.multi_strerror(mc));
	}
	while ((msg = curl.multi_info_read(f5->multi, &left))) {
		struct req *r;
		char *priv;

		if (msg->msg != CURLMSG_DONE || curl.easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv))
			continue;
		r = (struct req *)priv;
		r->result = msg->data.result;
		curl.easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
	}
	for (size_t i = 0; i < n; i++) {
		if (reqs[i].todo)
			cleanup(lb, &reqs[i]);
		reqs[i].todo = false;
	}
	return ret;
}

/* F5's "message", or NULL when the answer is not an F5 error body. */
static const char *f5_message(const struct req *r, json_t **json)
{
	*json = r->resp ? json_loadb(r->resp, r->len, 0, NULL) : NULL;
	return json_string_value(json_object_get(*json, "message"));
}

/* F5 documents these as passing: mcpd restarting, restjavad busy. */
static bool transient(const struct req *r)
{
	json_t *json;
	const char *msg;
	bool ret;

	if (r->result != CURLE_OK)
		return false;
	if (r->status == 503)
		return true;
	if (r->status != 500)
		return false;
	msg = f5_message(r, &json);
	ret = msg && strstr(msg, "mcpd");
	json_decref(json);
	return ret;
}

static int login(struct lbm *lb);
static void logout(struct lbm *lb);

/* run(), then the two second chances: one new token when the old one was
 * refused, one resend of what failed in a way F5 calls transient. */
static int exchange(struct lbm *lb, struct req *reqs, size_t n, bool relogin)
{
	struct f5 *f5 = lb->priv;
	bool again = false;
	int ret;

	for (size_t i = 0; i < n; i++)
		reqs[i].todo = reqs[i].method != NULL; /* a NULL method is a slot left empty */
	ret = run(lb, reqs, n);
	if (ret < 0)
		return ret;
	if (relogin && !f5->basic) {
		for (size_t i = 0; i < n; i++)
			if (reqs[i].result == CURLE_OK && reqs[i].status == 401)
				again = reqs[i].todo = true;
		if (again) {
			/* Refused may not mean expired: never leave a live token behind. */
			logout(lb);
			ret = login(lb);
			if (ret < 0)
				return ret;
			ret = run(lb, reqs, n);
			if (ret < 0)
				return ret;
		}
	}
	again = false;
	for (size_t i = 0; i < n; i++)
		if (reqs[i].method && transient(&reqs[i]))
			again = reqs[i].todo = reqs[i].retried = true;
	if (!again)
		return 0;
	lbm_sleep(0.2);
	return run(lb, reqs, n);
}

static int curl_failure(struct lbm *lb, const struct req *r, const char *what)
{
	struct f5 *f5 = lb->priv;
	const char *why = r->errbuf[0] ? r->errbuf : curl.easy_strerror(r->result);

	switch (r->result) {
	case CURLE_OPERATION_TIMEDOUT:
		return lbm_driver_fail(lb, LBM_ETIMEDOUT, "%s: no answer from %s within %g s", what, f5->where,
				       lb->timeout_s);
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
		return lbm_driver_fail(lb, LBM_EIO,
				       "%s: TLS with %s failed: %s (give the CA that signed its certificate with "
				       "ca_file; insecure skips the check)",
				       what, f5->where, why);
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
		return lbm_driver_fail(lb, LBM_EIO, "%s: cannot reach %s: %s", what, f5->where, why);
	case CURLE_WRITE_ERROR:
		return lbm_driver_fail(lb, LBM_EPROTO, "%s: the answer from %s is larger than %u MiB", what, f5->where,
				       F5_BODY_MAX >> 20);
	default: return lbm_driver_fail(lb, LBM_EIO, "%s: exchange with %s failed: %s", what, f5->where, why);
	}
}

/* F5's own words for a failed request. */
static void f5_text(const struct req *r, char *msg, size_t msgsz)
{
	const char *f5msg;
	json_t *json;

	f5msg = f5_message(r, &json);
	if (f5msg)
		snprintf(msg, msgsz, "%s", f5msg);
	else
		snprintf(msg, msgsz, "HTTP %ld with no F5 error message%s", r->status,
			 r->status == 503 ? " (the REST service is restarting or busy)" : "");
	json_decref(json);
}

static int http_failure(struct lbm *lb, const struct req *r, const char *what)
{
	char msg[LBM_ERRMSG_MAX / 2];
	int code;

	f5_text(r, msg, sizeof(msg));
	switch (r->status) {
	case 401:
	case 403: code = LBM_EPERM; break;
	case 404: code = LBM_ENOTFOUND; break;
	default: code = r->status >= 500 ? LBM_EIO : LBM_EPROTO;
	}
	return lbm_driver_fail(lb, code, "%s: %s (HTTP %ld%s)", what, msg, r->status,
			       r->retried ? ", also after one retry" : "");
}

/* 0 when BIG-IP took the request (2xx), else an error naming `what`. */
static int accepted(struct lbm *lb, const struct req *r, const char *what)
{
	if (r->result != CURLE_OK)
		return curl_failure(lb, r, what);
	if (r->status < 200 || r->status > 299)
		return http_failure(lb, r, what);
	return 0;
}

/* Check an answer and parse it: 0 and *out (for json_decref), or an error
 * naming `what` was being done. kind, when given, must be the answer's. */
static int answer(struct lbm *lb, const struct req *r, const char *what, const char *kind, json_t **out)
{
	struct f5 *f5 = lb->priv;
	const char *got;
	json_t *json;
	int ret = accepted(lb, r, what);

	*out = NULL;
	if (ret)
		return ret;
	/* jansson's error text quotes the input, which may hold a token. */
	json = r->resp ? json_loadb(r->resp, r->len, 0, NULL) : NULL;
	if (!json_is_object(json)) {
		json_decref(json);
		return lbm_driver_fail(lb, LBM_EPROTO, "%s: %s answered %zu bytes that are not a JSON object", what,
				       f5->where, r->len);
	}
	got = json_string_value(json_object_get(json, "kind"));
	if (kind && (!got || strcmp(got, kind))) {
		lbm_driver_fail(lb, LBM_EPROTO, "%s: %s answered kind '%s', expected '%s'", what, f5->where,
				got ? got : "(none)", kind);
		json_decref(json);
		return LBM_EPROTO;
	}
	*out = json;
	return 0;
}

/* "/Common/web" -> "~Common~web" and "%" -> "%25", as F5's own tools encode
 * a name in a URL path (bigip_pool_member's transform_name), and nothing
 * else: no client proven on devices escapes ':' as %3A. BIG-IP names hold
 * only letters, digits and ._-:%/; anything else is refused rather than
 * sent, as it could end the path ('?', '#') or smuggle another. */
static int tm_name(struct lbm *lb, const char *full, char *out, size_t outsz)
{
	static const char allowed[] = F5_ALNUM "._-:%/";
	size_t len = 0;

	if (!*full || strspn(full, allowed) != strlen(full))
		return lbm_driver_fail(lb, LBM_EINVAL,
				       "'%.64s' is not an F5 object name "
				       "(letters, digits, '.', '_', '-', ':', '%%', '/')",
				       full);
	for (const char *p = full; *p; p++) {
		const char *piece = *p == '/' ? "~" : *p == '%' ? "%25" : NULL;
		size_t plen = piece ? strlen(piece) : 1;

		if (len + plen >= outsz)
			return lbm_driver_fail(lb, LBM_EINVAL, "name '%.64s...' is too long", full);
		memcpy(out + len, piece ? piece : p, plen);
		len += plen;
	}
	out[len] = '\0';
	return 0;
}

/* /mgmt/tm/ltm/pool/~P~pool[/members[/~P~member]][suffix] */
static int pool_path(struct lbm *lb, char *out, size_t outsz, const char *pool, const char *member, const char *suffix)
{
	char p[LBM_NAME_MAX * 3], m[LBM_NAME_MAX * 3] = "";
	int ret = tm_name(lb, pool, p, sizeof(p));

	if (!ret && member)
		ret = tm_name(lb, member, m, sizeof(m));
	if (ret)
		return ret;
	snprintf(out, outsz, "/mgmt/tm/ltm/pool/%s%s%s%s", p, member ? "/members/" : "", m, suffix);
	return 0;
}

static struct req *req_new(struct lbm *lb, size_t n)
{
	struct req *reqs = calloc(n ? n : 1, sizeof(*reqs));

	if (!reqs)
		lbm_fail(lb, LBM_ENOMEM, "out of memory");
	return reqs;
}

static void reqs_free(struct req *reqs, size_t n)
{
	for (size_t i = 0; reqs && i < n; i++)
		req_free(&reqs[i]);
	free(reqs);
}

/* ---- authentication ------------------------------------------------------ */

static int login(struct lbm *lb)
{
	struct f5 *f5 = lb->priv;
	struct req r = { .method = "POST", .path = "/mgmt/shared/authn/login" };
	const char *token;
	json_t *body, *json;
	int ret;

	f5->token[0] = '\0';
	body = json_pack("{s:s, s:s, s:s}", "username", f5->user, "password", f5->password, "loginProviderName",
			 f5->provider);
	r.body = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body); /* jansson keeps its copy of the password until here */
	if (!r.body)
		return lbm_fail(lb, LBM_ENOMEM, "out of memory");
	ret = exchange(lb, &r, 1, false);
	if (ret == 0 && r.result == CURLE_OK && r.status == 401) {
		char msg[LBM_ERRMSG_MAX / 2];

		f5_text(&r, msg, sizeof(msg));
		ret = lbm_driver_fail(lb, LBM_EPERM,
				      "login as '%s' to %s refused: %s (check the user, the password and login "
				      "provider '%s')",
				      f5->user, f5->where, msg, f5->provider);
	} else if (ret == 0) {
		ret = answer(lb, &r, "login", NULL, &json);
		if (ret == 0) {
			token = json_string_value(json_object_get(json_object_get(json, "token"), "token"));
			/* It goes into a URL path at logout: letters and digits only. */
			if (!token || !*token || strspn(token, F5_ALNUM) != strlen(token) ||
			    !lbm_copy(f5->token, sizeof(f5->token), token))
				ret = lbm_driver_fail(lb, LBM_EPROTO, "login: %s answered no usable token", f5->where);
			json_decref(json);
		}
	}
	req_free(&r);
	if (ret < 0)
		f5->token[0] = '\0';
	return ret;
}

static void logout(struct lbm *lb)
{
	struct f5 *f5 = lb->priv;
	struct req r = { .method = "DELETE", .todo = true };

	if (!f5->token[0])
		return;
	snprintf(r.path, sizeof(r.path), "/mgmt/shared/authz/tokens/%s", f5->token);
	/* Best effort: an expired token is gone already. */
	run(lb, &r, 1);
	req_free(&r);
	explicit_bzero(r.path, sizeof(r.path));
	explicit_bzero(f5->token, sizeof(f5->token));
}

/* ---- open / close ---------------------------------------------------------- */

static int read_password(struct lbm *lb, struct f5 *f5, const char *file)
{
	char line[1024];
	size_t len;
	FILE *f = fopen(file, "re");

	if (!f)
		return lbm_driver_fail(lb, LBM_EINVAL, "cannot read password file '%s': %s", file, strerror(errno));
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	len = strcspn(line, "\r\n");
	if (len == sizeof(line) - 1) {
		explicit_bzero(line, sizeof(line));
		return lbm_driver_fail(lb, LBM_EINVAL, "password file '%s': first line longer than %zu bytes", file,
				       sizeof(line) - 2);
	}
	line[len] = '\0';
	if (!len)
		return lbm_driver_fail(lb, LBM_EINVAL, "password file '%s' has an empty first line", file);
	f5->password = strdup(line);
	explicit_bzero(line, sizeof(line));
	return f5->password ? 0 : lbm_fail(lb, LBM_ENOMEM, "out of memory");
}

static int credentials(struct lbm *lb, struct f5 *f5, const struct lbm_options *opt)
{
	const char *user = opt->user ? opt->user : getenv("LBM_F5_USER");
	const char *password = opt->password;

	if (!user || !*user)
		return lbm_driver_fail(lb, LBM_EINVAL, "no user: give one with the user option or LBM_F5_USER");
	if (!lbm_copy(f5->user, sizeof(f5->user), user))
		return lbm_driver_fail(lb, LBM_EINVAL, "user name longer than %d bytes", LBM_NAME_MAX - 1);
	if (!password && opt->password_file)
		return read_password(lb, f5, opt->password_file);
	if (!password)
		password = getenv("LBM_F5_PASSWORD");
	if (!password || !*password)
		return lbm_driver_fail(lb, LBM_EINVAL,
				       "no password for '%s': give a password file or set LBM_F5_PASSWORD", f5->user);
	f5->password = strdup(password);
	return f5->password ? 0 : lbm_fail(lb, LBM_ENOMEM, "out of memory");
}

static int parse_location(struct lbm *lb, struct f5 *f5, const char *location)
{
	char host[LBM_NAME_MAX], loc[LBM_NAME_MAX];
	unsigned port;
	size_t len;

	/* Never echo a location holding '@': it may be user:password@host. */
	if (strchr(location, '@'))
		return lbm_driver_fail(lb, LBM_EINVAL,
				       "credentials do not belong in the target: expected f5://HOST[:PORT] with the "
				       "user and password given as options or in LBM_F5_USER/LBM_F5_PASSWORD");
	if (!lbm_copy(loc, sizeof(loc), location))
		return lbm_driver_fail(lb, LBM_EINVAL, "target is longer than %d bytes", LBM_NAME_MAX - 1);
	len = strlen(loc);
	if (len && loc[len - 1] == '/')
		loc[len - 1] = '\0';
	if (!*loc || strpbrk(loc, "/?#% \t") || !lbm_split_hostport(loc, host, sizeof(host), &port) ||
	    strspn(host, F5_ALNUM ".-:") != strlen(host))
		return lbm_driver_fail(lb, LBM_EINVAL, "target 'f5://%s' is not f5://HOST[:PORT]", loc);
	if (!port)
		port = 443;
	if (strchr(host, ':'))
		snprintf(f5->where, sizeof(f5->where), "[%s]:%u", host, port);
	else
		snprintf(f5->where, sizeof(f5->where), "%s:%u", host, port);
	snprintf(f5->base, sizeof(f5->base), "https://%s", f5->where);
	return 0;
}

static int f5_open(struct lbm *lb, const char *location, const struct lbm_options *opt)
{
	struct f5 *f5 = calloc(1, sizeof(*f5));
	int ret;

	lb->priv = f5;
	if (!f5)
		return lbm_fail(lb, LBM_ENOMEM, "out of memory");
	ret = parse_location(lb, f5, location);
	if (ret)
		return ret;
	ret = credentials(lb, f5, opt);
	if (ret)
		return ret;
	if (!lbm_copy(f5->provider, sizeof(f5->provider), opt->login_provider ? opt->login_provider : "tmos") ||
	    !*f5->provider)
		return lbm_driver_fail(lb, LBM_EINVAL, "login provider must be a name of 1 to %zu bytes",
				       sizeof(f5->provider) - 1);
	if (opt->ca_file && !(f5->ca_file = strdup(opt->ca_file)))
		return lbm_fail(lb, LBM_ENOMEM, "out of memory");
	/* It becomes a word of a tmsh command line: one F5 name, nothing more. */
	if (opt->sync_group &&
	    (!*opt->sync_group || strspn(opt->sync_group, F5_ALNUM "._-/") != strlen(opt->sync_group) ||
	     !lbm_copy(f5->sync_group, sizeof(f5->sync_group), opt->sync_group)))
		return lbm_driver_fail(lb, LBM_EINVAL,
				       "sync_group '%.64s' is not a device group name (letters, digits, '.', '_', '-', "
				       "'/')",
				       opt->sync_group);
	f5->basic = opt->basic_auth;
	f5->insecure = opt->insecure;
	call_once(&curl_once, load_curl);
	if (curl_missing[0])
		return lbm_driver_fail(lb, LBM_ENOTSUP, "cannot load libcurl (%s): install the package libcurl4",
				       curl_missing);
	f5->multi = curl.multi_init();
	if (!f5->multi || curl.multi_setopt(f5->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)F5_PARALLEL) != CURLM_OK)
		return lbm_fail(lb, LBM_ENOMEM, "out of memory");
	/* A token now, so that wrong credentials are told at once. */
	return f5->basic ? 0 : login(lb);
}

static void f5_close(struct lbm *lb)
{
	struct f5 *f5 = lb->priv;

	if (!f5)
		return;
	if (f5->multi) {
		logout(lb);
		curl.multi_cleanup(f5->multi);
	}
	wipe_free(f5->password);
	free(f5->ca_file);
	free(f5);
	lb->priv = NULL;
}

/* ---- reading pools ------------------------------------------------------------ */

static const char *str(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* F5 names members "NODE:PORT", NODE the node's name (often its address),
 * and an IPv6 address's "ADDR.PORT". */
static unsigned member_port(const char *name)
{
	const char *base = strrchr(name, '/');
	const char *sep;

	base = base ? base + 1 : name;
	sep = strchr(base, ':') && strchr(base, ':') != strrchr(base, ':') ? strrchr(base, '.') : strrchr(base, ':');
	return sep ? (unsigned)strtoul(sep + 1, NULL, 10) : 0;
}

/* monitorStatus, or a member's monitor-driven "state", as health: the values
 * devices were recorded with and those F5 documents (tests/f5/README.md has
 * the table and its sources). An FQDN member's fqdn-up says that DNS
 * answers, not that a server does; forced-down and maint are what an
 * administrator set, read from session and state instead. */
static const struct {
	const char *word;
	enum lbm_health health;
} monitor_words[] = {
	{ "up", LBM_HEALTH_UP },
	{ "down", LBM_HEALTH_DOWN },
	{ "address-down", LBM_HEALTH_DOWN },
	{ "down-by-irule", LBM_HEALTH_DOWN },
	{ "down-manual-resume", LBM_HEALTH_DOWN },
	{ "fqdn-down", LBM_HEALTH_DOWN },
	{ "fqdn-up-no-addr", LBM_HEALTH_DOWN },
	{ "unchecked", LBM_HEALTH_UNKNOWN },
	{ "checking", LBM_HEALTH_UNKNOWN },
	{ "fqdn-checking", LBM_HEALTH_UNKNOWN },
	{ "fqdn-up", LBM_HEALTH_UNKNOWN },
	{ "forced-down", LBM_HEALTH_UNKNOWN },
	{ "maint", LBM_HEALTH_UNKNOWN },
	{ "user-down", LBM_HEALTH_UNKNOWN },
};

static enum lbm_health health_of(const char *word)
{
	for (size_t i = 0; i < sizeof(monitor_words) / sizeof(monitor_words[0]); i++)
		if (!strcmp(word, monitor_words[i].word))
			return monitor_words[i].health;
	return LBM_HEALTH_UNKNOWN;
}

/* design.md's F5 column, read backwards: "state" user-down is Forced
 * Offline whatever the session says; a user-disabled session is F5's
 * Disabled, our draining; monitor-enabled and user-enabled take traffic. */
static enum lbm_state state_of(const char *session, const char *state)
{
	if (!strcmp(state, "user-down"))
		return LBM_STATE_DISABLED;
	if (!strcmp(session, "user-disabled"))
		return LBM_STATE_DRAINING;
	if (!strcmp(session, "monitor-enabled") || !strcmp(session, "user-enabled"))
		return LBM_STATE_ENABLED;
	return LBM_STATE_UNKNOWN;
}

/* The DNS name of an FQDN member or of one BIG-IP made from it, or NULL. */
static const char *fqdn_of(json_t *item)
{
	const char *name = str(json_object_get(item, "fqdn"), "tmName");

	return name && *name ? name : NULL;
}

static bool is_ephemeral(json_t *item)
{
	const char *ephemeral = str(item, "ephemeral");

	return ephemeral && !strcmp(ephemeral, "true");
}

static int add_member(struct lbm *lb, struct lbm_listing *l, struct lbm_pool *pool, json_t *item)
{
	const char *kind = str(item, "kind"), *name = str(item, "fullPath"), *address = str(item, "address");
	const char *session = str(item, "session"), *state = str(item, "state"), *fqdn = fqdn_of(item);
	json_t *ratio = json_object_get(item, "ratio");
	struct lbm_member *m;

	if (!kind || strcmp(kind, "tm:ltm:pool:members:membersstate") || !name || !address || !session || !state)
		return lbm_driver_fail(lb, LBM_EPROTO,
				       "pool '%s': an item of kind '%s' is not a pool member (expected kind "
				       "tm:ltm:pool:members:membersstate with fullPath, address, session, state)",
				       pool->name, kind ? kind : "(none)");
	m = lbm_pool_add_member(l, pool, name);
	if (!m)
		return lbm_fail(lb, LBM_ENOMEM, "out of memory");
	m->port = member_port(name);
	m->state = state_of(session, state);
	m->health = health_of(state);
	if (json_is_integer(ratio))
		m->weight = (int)json_integer_value(ratio);
	if (is_ephemeral(item)) {
		m->flags |= LBM_MEMBER_EPHEMERAL;
		m->status = fqdn ? lbm_strf(l, "%s/%s, made by BIG-IP from FQDN %s", session, state, fqdn)
				 : lbm_strf(l, "%s/%s", session, state);
	} else if (fqdn) {
		/* Its address is any6 until DNS answers: it has none of its own. */
		m->flags |= LBM_MEMBER_TEMPLATE;
		m->status = lbm_strf(l, "%s/%s, FQDN %s", session, state, fqdn);
		return 0;
	} else {
		m->status = lbm_strf(l, "%s/%s", session, state);
	}
	lbm_copy(m->address, sizeof(m->address), address);
	return 0;
}

/* An ephemeral member follows the FQDN member of its pool it was made
 * from: same name in DNS, same port. */
static void find_templates(struct lbm_listing *l, struct lbm_pool *pool, size_t first, json_t *items)
{
	size_t i, j;
	json_t *item, *other;

	json_array_foreach(items, i, item) {
		struct lbm_member *m = &pool->members[first + i];

		if (!(m->flags & LBM_MEMBER_EPHEMERAL) || !fqdn_of(item))
			continue;
		json_array_foreach(items, j, other) {
			const struct lbm_member *t = &pool->members[first + j];

			if ((t->flags & LBM_MEMBER_TEMPLATE) && t->port == m->port && fqdn_of(other) &&
			    !strcmp(fqdn_of(other), fqdn_of(item))) {
				m->follows = lbm_strf(l, "%s/%s", pool->name, t->name);
				break;
			}
		}
	}
}

static int add_members(struct lbm *lb, struct lbm_listing *l, struct lbm_pool *pool, json_t *items)
{
	size_t i, first = pool->n_members;
	json_t *item;
	int ret;

	if (!json_is_array(items))
		return lbm_driver_fail(lb, LBM_EPROTO, "pool '%s': members are not a list", pool->name);
	json_array_foreach(items, i, item) {
		ret = add_member(lb, l, pool, item);
		if (ret < 0)
			return ret;
	}
	find_templates(l, pool, first, items);
	return 0;
}

static struct lbm_member *member_by_stats_key(struct lbm_pool *pool, const char *key)
{
	const char *seg = strstr(key, "/members/");
	char name[LBM_NAME_MAX * 3];
	char *plain, *end;
	struct lbm_member *found = NULL;

	if (!seg || !lbm_copy(name, sizeof(name), seg + strlen("/members/")))
		return NULL;
	end = strchr(name, '/');
	if (end)
		*end = '\0';
	plain = curl.easy_unescape(NULL, name, 0, NULL);
	if (!plain)
		return NULL;
	for (char *p = plain; *p; p++)
		if (*p == '~')
			*p = '/';
	for (size_t i = 0; i < pool->n_members && !found; i++)
		if (!strcmp(pool->members[i].name, plain))
			found = &pool->members[i];
	curl.free(plain);
	return found;
}

/* What a listing learns of a member beyond struct lbm_member, while it is
 * being made. */
struct seen {
	bool stats;    /* BIG-IP gave statistics for it */
	char *by_node; /* status.enabledState disabled-by-parent: the node holding it */
};

/* A listing being made, and what is learnt on the way. */
struct walk {
	struct lbm_listing *out;
	bool *need_members; /* per pool: the pool listing left them out */
	struct seen **seen; /* per pool, per member */
};

static void walk_free(struct walk *w)
{
	for (size_t p = 0; w->seen && p < w->out->n; p++) {
		for (size_t i = 0; w->seen[p] && i < w->out->pools[p].n_members; i++)
			free(w->seen[p][i].by_node);
		free(w->seen[p]);
	}
	free(w->seen);
	free(w->need_members);
}

static const char *stat_text(json_t *e, const char *key)
{
	return json_string_value(json_object_get(json_object_get(e, key), "description"));
}

/* One member's statistics entries: connections, health where the
 * configuration does not tell, and what holds it out. */
static int add_stats(struct lbm *lb, struct lbm_member *m, struct seen *seen, json_t *e)
{
	json_t *conns = json_object_get(json_object_get(e, "serverside.curConns"), "value");
	const char *monitor = stat_text(e, "monitorStatus"), *enabled = stat_text(e, "status.enabledState");

	seen->stats = true;
	/* Absent (some devices, some shapes): not reported, never 0. */
	if (json_is_integer(conns))
		m->active = (long)json_integer_value(conns);
	if (m->health == LBM_HEALTH_UNKNOWN && monitor)
		m->health = health_of(monitor);
	if (monitor && !strcmp(monitor, "down-manual-resume"))
		m->held = "its monitor marked it down until someone resumes it on the BIG-IP";
	if (enabled && !strcmp(enabled, "disabled-by-parent") && !seen->by_node) {
		const char *node = stat_text(e, "nodeName");
		char derived[LBM_NAME_MAX], *port;

		/* Without nodeName: the member's own name less its port. */
		if (!node || !*node) {
			lbm_copy(derived, sizeof(derived), m->name);
			port = strchr(derived, ':') != strrchr(derived, ':') ? strrchr(derived, '.')
									     : strrchr(derived, ':');
			if (port)
				*port = '\0';
			node = derived;
		}
		if (!(seen->by_node = strdup(node)))
			return lbm_fail(lb, LBM_ENOMEM, "out of memory");
	}
	return 0;
}

/* A statistics object's own entries: nested under its URL from 12.0 on (and
 * in every collection), flat on 11.x for a single object. */
static json_t *own_entries(json_t *entries)
{
	const char *key;
	json_t *entry;

	if (json_object_get(entries, "addr") || json_object_get(entries, "serverside.curConns") ||
	    json_object_get(entries, "monitorStatus"))
		return entries;
	json_object_foreach(entries, key, entry)
		return json_object_get(json_object_get(entry, "nestedStats"), "entries");
	return NULL;
}

/* A pool's members/stats: each entry keyed by a member's statistics URL. A
 * 13.1.0.6 device has been seen answering with the pool's own statistics
 * instead: those match no member, whose statistics are then asked for one
 * by one. */
static int add_pool_stats(struct lbm *lb, struct lbm_pool *pool, struct seen *seen, json_t *stats)
{
	const char *key;
	json_t *entry;
	int ret = 0;

	json_object_foreach(json_object_get(stats, "entries"), key, entry) {
		json_t *e = json_object_get(json_object_get(entry, "nestedStats"), "entries");
		struct lbm_member *m = member_by_stats_key(pool, key);

		if (m && e && (ret = add_stats(lb, m, &seen[m - pool->members], e)) < 0)
			break;
	}
	return ret;
}

static int add_pool(struct lbm *lb, struct lbm_listing *l, json_t *item, bool *need_members)
{
	const char *kind = str(item, "kind"), *name = str(item, "fullPath"), *mode = str(item, "loadBalancingMode");
	json_t *members = json_object_get(json_object_get(item, "membersReference"), "items");
	struct lbm_pool *pool;

	if (!kind || strcmp(kind, "tm:ltm:pool:poolstate") || !name)
		return lbm_driver_fail(lb, LBM_EPROTO,
				       "an item of kind '%s' is not a pool (expected tm:ltm:pool:poolstate with a "
				       "fullPath)",
				       kind ? kind : "(none)");
	pool = lbm_pool_add(l, name);
	if (!pool)
		return lbm_fail(lb, LBM_ENOMEM, "out of memory");
	if (mode)
		pool->detail = lbm_str(l, mode);
	/* Old versions ignore expandSubcollections: ask for the members then. */
	*need_members = !members;
	return members ? add_members(lb, l, pool, members) : 0;
}

/* The pools named, one request each side by side, or all in one. */
static int read_pools(struct lbm *lb, const char *const *names, size_t n, struct walk *w)
{
	size_t nreqs = names ? n : 1, npools = 0;
	struct req *reqs = req_new(lb, nreqs);
	json_t **answers = calloc(nreqs + 1, sizeof(*answers)), *items, *item;
	int ret = reqs && answers ? 0 : lbm_fail(lb, LBM_ENOMEM, "out of memory");

	for (size_t i = 0; names && i < n && !ret; i++) {
		reqs[i].method = "GET";
		ret = pool_path(lb, reqs[i].path, sizeof(reqs[i].path), names[i], NULL, "?expandSubcollections=true");
	}
	if (!names && !ret) {
		reqs[0].method = "GET";
		snprintf(reqs[0].path, sizeof(reqs[0].path), "/mgmt/tm/ltm/pool?expandSubcollections=true");
	}
	if (!ret)
		ret = exchange(lb, reqs, nreqs, true);
	for (size_t i = 0; i < nreqs && !ret; i++) {
		if (names && reqs[i].result == CURLE_OK && reqs[i].status == 404) {
			char msg[LBM_ERRMSG_MAX / 2];

			f5_text(&reqs[i], msg, sizeof(msg));
			ret = lbm_driver_fail(lb, LBM_ENOTFOUND, "no pool '%s' on %s: %s", names[i],
					      ((struct f5 *)lb->priv)->where, msg);
			break;
		}
		ret = answer(lb, &reqs[i], "reading pools",
			     names ? "tm:ltm:pool:poolstate" : "tm:ltm:pool:poolcollectionstate", &answers[i]);
		/* BIG-IP leaves "items" out when there is no pool. */
		if (!ret && !names && json_object_get(answers[i], "items") &&
		    !json_is_array(json_object_get(answers[i], "items")))
			ret = lbm_driver_fail(lb, LBM_EPROTO, "reading pools: 'items' is not a list");
		if (!ret)
			npools += names ? 1 : json_array_size(json_object_get(answers[i], "items"));
	}
	if (!ret) {
		w->need_members = calloc(npools + 1, sizeof(*w->need_members));
		w->seen = calloc(npools + 1, sizeof(*w->seen));
		if (!w->need_members || !w->seen)
			ret = lbm_fail(lb, LBM_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < nreqs && !ret; i++) {
		size_t k;

		if (names) {
			ret = add_pool(lb, w->out, answers[i], &w->need_members[w->out->n]);
			continue;
		}
		items = json_object_get(answers[i], "items");
		json_array_foreach(items, k, item) {
			if (ret)
				break;
			ret = add_pool(lb, w->out, item, &w->need_members[w->out->n]);
		}
	}
	for (size_t i = 0; answers && i < nreqs; i++)
		json_decref(answers[i]);
	free(answers);
	reqs_free(reqs, nreqs);
	return ret;
}

/* Per pool, its statistics and, where the listing left them out, its
 * members: all in one exchange. */
static int read_members(struct lbm *lb, struct walk *w)
{
	struct req *reqs = req_new(lb, 2 * w->out->n);
	json_t *json;
	char what[LBM_NAME_MAX + 32];
	int ret = reqs ? 0 : LBM_ENOMEM;

	for (size_t i = 0; i < w->out->n && !ret; i++) {
		reqs[2 * i].method = w->need_members[i] ? "GET" : NULL;
		reqs[2 * i + 1].method = "GET";
		ret = pool_path(lb, reqs[2 * i].path, sizeof(reqs[2 * i].path), w->out->pools[i].name, NULL,
				"/members");
		if (!ret)
			ret = pool_path(lb, reqs[2 * i + 1].path, sizeof(reqs[2 * i + 1].path), w->out->pools[i].name,
					NULL, "/members/stats");
	}
	if (!ret)
		ret = exchange(lb, reqs, 2 * w->out->n, true);
	for (size_t i = 0; i < w->out->n && !ret; i++) {
		if (w->need_members[i]) {
			snprintf(what, sizeof(what), "reading members of '%s'", w->out->pools[i].name);
			ret = answer(lb, &reqs[2 * i], what, "tm:ltm:pool:members:memberscollectionstate", &json);
			if (ret)
				break;
			/* BIG-IP leaves "items" out when the pool has no member. */
			ret = json_object_get(json, "items")
				      ? add_members(lb, w->out, &w->out->pools[i], json_object_get(json, "items"))
				      : 0;
			json_decref(json);
			if (ret)
				break;
		}
		w->seen[i] = calloc(w->out->pools[i].n_members + 1, sizeof(**w->seen));
		if (!w->seen[i]) {
			ret = lbm_fail(lb, LBM_ENOMEM, "out of memory");
			break;
		}
		snprintf(what, sizeof(what), "reading statistics of '%s'", w->out->pools[i].name);
		ret = answer(lb, &reqs[2 * i + 1], what, "tm:ltm:pool:members:memberscollectionstats", &json);
		if (!ret)
			ret = add_pool_stats(lb, &w->out->pools[i], w->seen[i], json);
		json_decref(json);
	}
	reqs_free(reqs, 2 * w->out->n);
	return ret;
}

/* Statistics for each member its pool's answer left out, one by one. */
static int read_missing_stats(struct lbm *lb, struct walk *w)
{
	struct req *reqs;
	size_t n = 0, k = 0;
	json_t *json;
	int ret = 0;

	for (size_t p = 0; p < w->out->n; p++)
		for (size_t i = 0; i < w->out->pools[p].n_members; i++)
			n += !w->seen[p][i].stats;
	if (!n)
		return 0;
	if (!(reqs = req_new(lb, n)))
		return LBM_ENOMEM;
	for (size_t p = 0; p < w->out->n && !ret; p++)
		for (size_t i = 0; i < w->out->pools[p].n_members && !ret; i++)
			if (!w->seen[p][i].stats) {
				reqs[k].method = "GET";
				ret = pool_path(lb, reqs[k].path, sizeof(reqs[k].path), w->out->pools[p].name,
						w->out->pools[p].members[i].name, "/stats");
				k++;
			}
	if (!ret)
		ret = exchange(lb, reqs, n, true);
	k = 0;
	for (size_t p = 0; p < w->out->n && !ret; p++) {
		for (size_t i = 0; i < w->out->pools[p].n_members && !ret; i++) {
			struct lbm_member *m = &w->out->pools[p].members[i];
			char what[2 * LBM_NAME_MAX + 32];
			json_t *e;

			if (w->seen[p][i].stats)
				continue;
			snprintf(what, sizeof(what), "reading statistics of %s in '%s'", m->name,
				 w->out->pools[p].name);
			ret = answer(lb, &reqs[k++], what, "tm:ltm:pool:members:membersstats", &json);
			if (ret)
				break;
			e = own_entries(json_object_get(json, "entries"));
			if (e)
				ret = add_stats(lb, m, &w->seen[p][i], e);
			else
				m->status = lbm_strf(w->out, "%s, no statistics", m->status);
			json_decref(json);
		}
	}
	reqs_free(reqs, n);
	return ret;
}

/* A node disabled or forced offline holds every member of it out, whatever
 * the member's own session and state say. */
static int read_nodes(struct lbm *lb, struct walk *w)
{
	struct req *reqs;
	size_t n = 0, k = 0;
	int ret = 0;

	for (size_t p = 0; p < w->out->n; p++)
		for (size_t i = 0; i < w->out->pools[p].n_members; i++)
			n += w->seen[p][i].by_node != NULL;
	if (!n)
		return 0;
	if (!(reqs = req_new(lb, n)))
		return LBM_ENOMEM;
	for (size_t p = 0; p < w->out->n && !ret; p++)
		for (size_t i = 0; i < w->out->pools[p].n_members && !ret; i++)
			if (w->seen[p][i].by_node) {
				char node[LBM_NAME_MAX * 3];

				reqs[k].method = "GET";
				ret = tm_name(lb, w->seen[p][i].by_node, node, sizeof(node));
				snprintf(reqs[k++].path, sizeof(reqs[0].path), "/mgmt/tm/ltm/node/%s", node);
			}
	if (!ret)
		ret = exchange(lb, reqs, n, true);
	k = 0;
	for (size_t p = 0; p < w->out->n && !ret; p++) {
		for (size_t i = 0; i < w->out->pools[p].n_members && !ret; i++) {
			struct lbm_member *m = &w->out->pools[p].members[i];
			const char *node = w->seen[p][i].by_node, *state;
			char what[LBM_NAME_MAX + 32];
			bool offline;
			json_t *json;

			if (!node)
				continue;
			snprintf(what, sizeof(what), "reading node %s", node);
			ret = answer(lb, &reqs[k++], what, "tm:ltm:node:nodestate", &json);
			if (ret)
				break;
			state = str(json, "state");
			offline = state && !strcmp(state, "user-down");
			if (offline)
				m->state = LBM_STATE_DISABLED;
			else if (m->state == LBM_STATE_ENABLED)
				m->state = LBM_STATE_DRAINING;
			m->held = lbm_strf(w->out, "its node %s is %s", node, offline ? "forced offline" : "disabled");
			json_decref(json);
		}
	}
	reqs_free(reqs, n);
	return ret;
}

static int f5_list(struct lbm *lb, const char *const *names, size_t n, struct lbm_listing *out)
{
	struct walk w = { .out = out };
	int ret = read_pools(lb, names, n, &w);

	if (!ret && out->n)
		ret = read_members(lb, &w);
	if (!ret && out->n)
		ret = read_missing_stats(lb, &w);
	if (!ret && out->n)
		ret = read_nodes(lb, &w);
	walk_free(&w);
	return ret;
}

/* ---- device groups ----------------------------------------------------------------- */

/* Member state is configuration, which config-sync copies between the units
 * of a device group: changed on a standby, it is overwritten by the next
 * sync from the active unit (or, synced from the standby, it overwrites the
 * active's). So a change goes to the active unit only, and is then synced. */

/* A cm status's own entries: failover-status and sync-status nest them
 * under ".../0" in every recorded version (tests/f5/README.md). */
static json_t *cm_entries(json_t *json)
{
	const char *key;
	json_t *entry;

	json_object_foreach(json_object_get(json, "entries"), key, entry)
		return json_object_get(json_object_get(entry, "nestedStats"), "entries");
	return NULL;
}

/* Once per call, before anything is touched: ACTIVE (a standalone device
 * is ACTIVE too) may be changed; STANDBY, OFFLINE, FORCED OFFLINE... may
 * not. A device without the endpoint (none that lbmember supports: it is
 * there from 11.x on) cannot tell: the change goes on with a warning rather
 * than never on such a device. */
static int f5_before_change(struct lbm *lb)
{
	struct f5 *f5 = lb->priv;
	struct req r = { .method = "GET", .path = "/mgmt/tm/cm/failover-status" };
	const char *what = "reading the failover status before a change", *status;
	json_t *json = NULL;
	int ret = exchange(lb, &r, 1, true);

	if (ret)
		goto out;
	if (r.result == CURLE_OK && r.status == 404) {
		lbm_warn(lb,
			 "F5: %s has no /mgmt/tm/cm/failover-status (HTTP 404): lbmember cannot tell whether it is the "
			 "standby unit of a device group; change only the active unit",
			 f5->where);
		goto out;
	}
	ret = answer(lb, &r, what, "tm:cm:failover-status:failover-statusstats", &json);
	if (ret)
		goto out;
	status = stat_text(cm_entries(json), "status");
	if (!status)
		ret = lbm_driver_fail(lb, LBM_EPROTO, "%s: %s answered no status", what, f5->where);
	else if (!strcmp(status, "STANDBY"))
		ret = lbm_driver_fail(lb, LBM_ESTANDBY,
				      "%s is the standby unit of its device group (failover-status STANDBY): change "
				      "the active unit; config-sync copies member state to this one",
				      f5->where);
	else if (strcmp(status, "ACTIVE"))
		ret = lbm_driver_fail(lb, LBM_ESTANDBY,
				      "%s is not the active unit of its device group (failover-status %.64s): change "
				      "the active unit; config-sync copies member state to this one",
				      f5->where, status);
out:
	json_decref(json);
	req_free(&r);
	return ret;
}

struct sync {
	char status[64]; /* "In Sync", "Changes Pending", "Standalone"... */
	bool standalone;
	char group[LBM_NAME_MAX]; /* the device group it names, or "" */
};

/* The group a sync-status names in its recommended action, "Synchronize
 * HOST to group NAME" (recordings and bigip_device_info's sample). */
static void group_of(json_t *e, char *out, size_t outsz)
{
	const char *key, *n, *text, *at;
	json_t *details, *d;
	size_t len;

	out[0] = '\0';
	json_object_foreach(e, key, details) {
		if (!strstr(key, "/details"))
			continue;
		json_object_foreach(json_object_get(json_object_get(details, "nestedStats"), "entries"), n, d) {
			text = stat_text(json_object_get(json_object_get(d, "nestedStats"), "entries"), "details");
			at = text ? strstr(text, " to group ") : NULL;
			if (!at)
				continue;
			at += strlen(" to group ");
			len = strcspn(at, " \t");
			if (len && len < outsz && strspn(at, F5_ALNUM "._-/") >= len) {
				memcpy(out, at, len);
				out[len] = '\0';
				return;
			}
		}
	}
}

static int read_sync(struct lbm *lb, const char *what, struct sync *st)
{
	struct f5 *f5 = lb->priv;
	struct req r = { .method = "GET", .path = "/mgmt/tm/cm/sync-status" };
	const char *status, *mode;
	json_t *json = NULL, *e;
	int ret = exchange(lb, &r, 1, true);

	if (!ret)
		ret = answer(lb, &r, what, "tm:cm:sync-status:sync-statusstats", &json);
	if (ret)
		goto out;
	e = cm_entries(json);
	status = stat_text(e, "status");
	mode = stat_text(e, "mode");
	if (!status) {
		ret = lbm_driver_fail(lb, LBM_EPROTO, "%s: %s answered no status", what, f5->where);
		goto out;
	}
	snprintf(st->status, sizeof(st->status), "%s", status);
	st->standalone = !strcmp(status, "Standalone") || (mode && !strcmp(mode, "standalone"));
	group_of(e, st->group, sizeof(st->group));
out:
	json_decref(json);
	req_free(&r);
	return ret;
}

static int config_sync(struct lbm *lb, const char *what)
{
	struct f5 *f5 = lb->priv;
	struct req r = { .method = "POST", .path = "/mgmt/tm/cm" };
	char args[LBM_NAME_MAX + 32];
	json_t *body, *json = NULL;
	int ret;

	snprintf(args, sizeof(args), "config-sync to-group %s", f5->sync_group);
	body = json_pack("{s:s, s:s}", "command", "run", "utilCmdArgs", args);
	r.body = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	ret = r.body ? exchange(lb, &r, 1, true) : lbm_fail(lb, LBM_ENOMEM, "out of memory");
	/* No kind: what this command answers with is not recorded. */
	if (!ret)
		ret = answer(lb, &r, what, NULL, &json);
	json_decref(json);
	req_free(&r);
	return ret;
}

/* Sync status until in sync, with backoff, within the handle's timeout. */
static int await_sync(struct lbm *lb, const char *what, struct sync *st)
{
	double deadline = lbm_now() + lb->timeout_s, delay = 0.1;
	int ret = read_sync(lb, what, st);

	while (!ret && strcmp(st->status, "In Sync") && strcmp(st->status, "Disconnected") &&
	       lbm_now() + delay <= deadline) {
		lbm_backoff(&delay, 0.8);
		ret = read_sync(lb, what, st);
	}
	return ret;
}

/* After a change, or one found already made (a run again after a failed
 * config-sync): tell when the other units do not have it yet, or sync them
 * (sync_group). Whatever fails here, the change itself is made: a warning
 * says so, never an error. Every warning starts with "F5: ", as those made
 * of a failure's message do. */
static void f5_after_change(struct lbm *lb)
{
	struct f5 *f5 = lb->priv;
	char errmsg[LBM_ERRMSG_MAX], what[3 * LBM_NAME_MAX];
	struct sync st = { 0 };

	memcpy(errmsg, lb->errmsg, sizeof(errmsg));
	snprintf(what, sizeof(what), "the change is made on %s, but reading its sync status failed", f5->where);
	if (read_sync(lb, what, &st) < 0) {
		lbm_warn(lb, "%s", lb->errmsg);
		goto out;
	}
	if (!strcmp(st.status, "In Sync") || (st.standalone && !f5->sync_group[0]))
		goto out;
	if (!f5->sync_group[0]) {
		lbm_warn(lb,
			 "F5: the device group%s%s of %s is not in sync (sync-status %s): its standby still runs the "
			 "old member state until a config-sync; give the option sync_group (--sync-group %s) to run "
			 "one after the change",
			 st.group[0] ? " " : "", st.group, f5->where, st.status, st.group[0] ? st.group : "GROUP");
		goto out;
	}
	/* A standalone device too: its own refusal then says what is wrong. */
	snprintf(what, sizeof(what), "the change is made on %s, but config-sync to group '%s' failed", f5->where,
		 f5->sync_group);
	if (config_sync(lb, what) < 0) {
		lbm_warn(lb, "%s", lb->errmsg);
		goto out;
	}
	snprintf(what, sizeof(what), "config-sync to group '%s' ran on %s, but reading the sync status failed",
		 f5->sync_group, f5->where);
	if (await_sync(lb, what, &st) < 0)
		lbm_warn(lb, "%s", lb->errmsg);
	else if (strcmp(st.status, "In Sync") && !st.standalone)
		lbm_warn(lb,
			 "F5: config-sync to group '%s' ran on %s, but the group is still not in sync after %g s "
			 "(sync-status %s): its standby may still run the old member state",
			 f5->sync_group, f5->where, lb->timeout_s, st.status);
out:
	memcpy(lb->errmsg, errmsg, sizeof(errmsg));
}

/* ---- changing members ----------------------------------------------------------- */

/* design.md's bodies; "state" is sent every time, or a Forced Offline
 * member would stay offline when enabled. */
static char *member_body(const struct lbm_item *item)
{
	json_t *body =
		json_pack("{s:s, s:s}", "session", item->state == LBM_STATE_ENABLED ? "user-enabled" : "user-disabled",
			  "state", item->state == LBM_STATE_DISABLED ? "user-down" : "user-up");
	char *s;

	if (body && item->weight >= 0 && json_object_set_new(body, "ratio", json_integer(item->weight)) < 0) {
		json_decref(body);
		return NULL;
	}
	s = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	return s;
}

static void item_what(char *what, size_t whatsz, const struct lbm_item *item)
{
	snprintf(what, whatsz, "making %s %s %s", item->pool, item->member->name, lbm_state_name(item->state));
}

static int transaction_start(struct lbm *lb, char *id, size_t idsz)
{
	struct req r = { .method = "POST", .path = "/mgmt/tm/transaction", .body = strdup("{}") };
	json_t *json, *tid;
	int ret = r.body ? exchange(lb, &r, 1, true) : lbm_fail(lb, LBM_ENOMEM, "out of memory");

	if (!ret)
		ret = answer(lb, &r, "starting a transaction", "tm:transactionstate", &json);
	if (!ret) {
		tid = json_object_get(json, "transId");
		if (json_is_integer(tid))
			snprintf(id, idsz, "%" JSON_INTEGER_FORMAT, json_integer_value(tid));
		else
			ret = lbm_driver_fail(lb, LBM_EPROTO, "starting a transaction: no transId in the answer");
		json_decref(json);
	}
	req_free(&r);
	return ret;
}

static void transaction_drop(struct lbm *lb, const char *id)
{
	struct req r = { .method = "DELETE", .todo = true };

	snprintf(r.path, sizeof(r.path), "/mgmt/tm/transaction/%s", id);
	run(lb, &r, 1); /* best effort: BIG-IP drops it after its timeout anyway */
	req_free(&r);
}

/* "it ended FAILED: why", without a dangling ": " when BIG-IP gives no reason. */
static int commit_failed(struct lbm *lb, json_t *trans)
{
	const char *state = str(trans, "state"), *why = str(trans, "failureReason");

	return lbm_driver_fail(lb, LBM_EPROTO, "committing the transaction: it ended %s%s%s",
			       state ? state : "in no state", why && *why ? ": " : "", why && *why ? why : "");
}

/* The commit answers the transaction, COMPLETED when it ran at once; F5
 * advises checking, as it may still be VALIDATING: then it is asked for
 * again, with backoff, until the handle's timeout. */
static int transaction_commit(struct lbm *lb, const char *id)
{
	struct req r = { .method = "PATCH", .body = strdup("{\"state\":\"VALIDATING\"}") };
	double deadline = lbm_now() + lb->timeout_s, delay = 0.05;
	const char *what = "committing the transaction", *state;
	json_t *json;
	int ret;

	snprintf(r.path, sizeof(r.path), "/mgmt/tm/transaction/%s", id);
	ret = r.body ? exchange(lb, &r, 1, true) : lbm_fail(lb, LBM_ENOMEM, "out of memory");
	while (!ret) {
		ret = answer(lb, &r, what, "tm:transactionstate", &json);
		if (ret)
			break;
		state = str(json, "state");
		if (!state || strcmp(state, "VALIDATING")) {
			ret = state && !strcmp(state, "COMPLETED") ? 0 : commit_failed(lb, json);
			json_decref(json);
			break;
		}
		json_decref(json);
		if (lbm_now() + delay > deadline) {
			ret = lbm_driver_fail(lb, LBM_ETIMEDOUT,
					      "committing the transaction: still VALIDATING after %g s: see GET "
					      "/mgmt/tm/transaction/%s on the BIG-IP",
					      lb->timeout_s, id);
			break;
		}
		lbm_backoff(&delay, 0.8);
		wipe_free(r.body);
		r.body = NULL;
		r.method = "GET";
		what = "checking the committed transaction";
		ret = exchange(lb, &r, 1, true);
	}
	req_free(&r);
	return ret;
}

/* F5 has no weight 0, and lbmember says so before anything is touched. */
static int f5_check(struct lbm *lb, const struct lbm_item *item)
{
	if (item->weight == 0)
		return lbm_driver_fail(lb, LBM_EINVAL,
				       "%s %s: F5 has no weight 0 (its ratio is 1 to 65535): drain the member instead",
				       item->pool, item->member->name);
	return 0;
}

static int f5_apply(struct lbm *lb, struct lbm_item *items, size_t n)
{
	char id[32] = "", what[3 * LBM_NAME_MAX];
	struct req *reqs;
	json_t *json;
	int ret = 0;

	for (size_t i = 0; i < n && !ret; i++)
		ret = f5_check(lb, &items[i]);
	if (ret)
		return ret;
	reqs = req_new(lb, n);
	if (!reqs)
		return LBM_ENOMEM;
	/* Several changes: one transaction, so that they happen all or none. */
	if (n > 1)
		ret = transaction_start(lb, id, sizeof(id));
	for (size_t i = 0; i < n && !ret; i++) {
		reqs[i].method = "PATCH";
		reqs[i].trans = n > 1 ? id : NULL;
		reqs[i].body = member_body(&items[i]);
		ret = reqs[i].body ? pool_path(lb, reqs[i].path, sizeof(reqs[i].path), items[i].pool,
					       items[i].member->name, "")
				   : lbm_fail(lb, LBM_ENOMEM, "out of memory");
	}
	if (!ret)
		ret = exchange(lb, reqs, n, true);
	/* Alone, a member is changed once BIG-IP said 2xx, whatever the body. */
	if (!ret && n == 1)
		items[0].done = reqs[0].result == CURLE_OK && reqs[0].status / 100 == 2;
	/* In a transaction BIG-IP queues each command and answers with it,
	 * not with the transaction nor the member. */
	for (size_t i = 0; i < n && !ret; i++) {
		item_what(what, sizeof(what), &items[i]);
		ret = answer(lb, &reqs[i], what, n > 1 ? "tm:transaction:commandsstate" : NULL, &json);
		json_decref(json);
	}
	if (!ret && n > 1)
		ret = transaction_commit(lb, id);
	else if (ret && n > 1 && id[0])
		transaction_drop(lb, id);
	for (size_t i = 0; i < n && !ret; i++)
		items[i].done = true;
	reqs_free(reqs, n);
	return ret;
}

/* force_after: what tmsh's "delete sys connection ss-server-addr A
 * ss-server-port P" deletes, through iControl REST, which passes a tmsh
 * command's arguments in the options query parameter (tests/f5/README.md
 * §8 has the sources and what no device has confirmed). BIG-IP's
 * connection table knows addresses and ports, not pools: every
 * server-side connection to the member's address and port goes, whatever
 * the pool that made it. */
static int f5_cut(struct lbm *lb, const char *pool, const struct lbm_member *m)
{
	struct req r = { .method = "DELETE" };
	char what[3 * LBM_NAME_MAX], addr[3 * LBM_ADDRESS_MAX], port[32] = "";
	int ret;

	snprintf(what, sizeof(what), "cutting the connections of %s in %s", m->name, pool);
	/* An FQDN member's connections are its ephemeral members'. */
	if (!m->address[0])
		return lbm_driver_fail(lb, LBM_EINVAL, "%s: it has no address of its own", what);
	/* A route domain's '%' travels as %25, as in a path. */
	ret = tm_name(lb, m->address, addr, sizeof(addr));
	if (ret)
		return ret;
	/* Port 0 is F5's "any": the member takes every port of its address. */
	if (m->port)
		snprintf(port, sizeof(port), "+ss-server-port+%u", m->port);
	snprintf(r.path, sizeof(r.path), "/mgmt/tm/sys/connection?options=ss-server-addr+%s%s", addr, port);
	ret = exchange(lb, &r, 1, true);
	/* What a device answers besides its status was never recorded. */
	if (!ret)
		ret = accepted(lb, &r, what);
	req_free(&r);
	return ret;
}

/* ---- names ------------------------------------------------------------------------ */

/* "web" -> "/Common/web"; "Tenant/app" -> "/Tenant/app". */
static int f5_pool_name(struct lbm *lb, const char *typed, char *out, size_t outsz)
{
	static const char allowed[] = F5_ALNUM "._-/:";
	const char *slash = strchr(typed + 1, '/');
	int len;

	if (strspn(typed, allowed) != strlen(typed) || (typed[0] == '/' && (!slash || !slash[1])) ||
	    typed[strlen(typed) - 1] == '/')
		return lbm_driver_fail(lb, LBM_EINVAL,
				       "pool '%s' is not an F5 pool name: expected NAME or /PARTITION/NAME (letters, "
				       "digits, . _ - :)",
				       typed);
	if (typed[0] == '/')
		len = snprintf(out, outsz, "%s", typed);
	else if (strchr(typed, '/'))
		len = snprintf(out, outsz, "/%s", typed);
	else
		len = snprintf(out, outsz, "/Common/%s", typed);
	if (len < 0 || (size_t)len >= outsz)
		return lbm_driver_fail(lb, LBM_EINVAL, "pool name is longer than %zu bytes", outsz - 1);
	return 0;
}

/* A member named without its "/Partition/": "2001:db8::1.80" for
 * "/Common/2001:db8::1.80". */
static bool f5_names_member(const struct lbm_member *m, const char *typed)
{
	const char *base = strrchr(m->name, '/');

	return base && !strcmp(base + 1, typed);
}

static const struct lbm_option_def f5_options[] = {
	{ { .name = "user",
	    .type = LBM_OPTION_STRING,
	    .value = "USER",
	    .help = "User to log in as.",
	    .fallback = "$LBM_F5_USER" },
	  LBM_OPTION_AT(user) },
	{ { .name = "password",
	    .type = LBM_OPTION_SECRET,
	    .value = "PASSWORD",
	    .help = "Password (never on a command line, which every local user can read).",
	    .fallback = "password_file, then $LBM_F5_PASSWORD" },
	  LBM_OPTION_AT(password) },
	{ { .name = "password_file",
	    .type = LBM_OPTION_PATH,
	    .value = "FILE",
	    .help = "File whose first line is the password.",
	    .fallback = "$LBM_F5_PASSWORD" },
	  LBM_OPTION_AT(password_file) },
	{ { .name = "login_provider",
	    .type = LBM_OPTION_STRING,
	    .value = "NAME",
	    .help = "loginProviderName of the token login.",
	    .fallback = "tmos" },
	  LBM_OPTION_AT(login_provider) },
	{ { .name = "basic_auth",
	    .type = LBM_OPTION_FLAG,
	    .help = "HTTP basic auth instead of a token (old devices)." },
	  LBM_OPTION_AT(basic_auth) },
	{ { .name = "ca_file",
	    .alias = "ca_path",
	    .type = LBM_OPTION_PATH,
	    .value = "FILE",
	    .help = "CA bundle to verify the balancer's TLS certificate.",
	    .fallback = "the system's CAs" },
	  LBM_OPTION_AT(ca_file) },
	{ { .name = "insecure", .type = LBM_OPTION_FLAG, .help = "Do not verify the balancer's TLS certificate." },
	  LBM_OPTION_AT(insecure) },
	{ { .name = "sync_group",
	    .type = LBM_OPTION_STRING,
	    .value = "GROUP",
	    .help = "Device group to config-sync to after a change, so the standby unit gets it too.",
	    .fallback = "none: a warning when the group is out of sync",
	    .change_only = 1 },
	  LBM_OPTION_AT(sync_group) },
	{ { 0 }, 0 },
};

const struct lbm_driver lbm_driver_f5 = {
    .info =
	{
	    .scheme = "f5",
	    .name = "F5",
	    .usage = "f5://HOST[:PORT]",
	    .summary = "a BIG-IP's iControl REST API over HTTPS (11.6 to 17.1)",
	    .naming = "pool: /Partition/pool (the partition defaults to Common); member: /Partition/NODE:PORT, "
		      "NODE:PORT or ADDR:PORT (IPv6 2001:db8::1.80, route domains 192.0.2.1%2:80)",
	},
    .options = f5_options,
    .open = f5_open,
    .close = f5_close,
    .list = f5_list,
    .apply = f5_apply,
    .pool_name = f5_pool_name,
    .names_member = f5_names_member,
    .check = f5_check,
    .before_change = f5_before_change,
    .after_change = f5_after_change,
    .cut = f5_cut,
};
