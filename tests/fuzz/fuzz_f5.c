// SPDX-License-Identifier: MIT
/* F5 iControl REST answers, as read by core/f5.c: the libcurl multi calls
 * the driver makes are replaced here, so that each request it sends is
 * answered, in order, with the next segment of the input (fuzz.h). A
 * segment starts with one byte choosing the HTTP status (or a transport
 * failure), then the body. The input's first byte picks the operation. */
#define _DEFAULT_SOURCE
#include <stdarg.h>
#include <time.h>

#include "fuzz.h"

/* The driver waits 200 ms before resending what F5 calls transient. */
#define nanosleep(req, rem) ((void)(req), (void)(rem))

/* f5.c sets it again; glibc's headers, already read, gave it a value. */
#undef _DEFAULT_SOURCE
#include "../../core/f5.c"

#define MAX_PENDING 64

static struct {
	struct fuzz_in in;
	CURL *pending[MAX_PENDING];
	size_t n_pending, n_done;
	CURLMsg msgs[MAX_PENDING];
	long status[MAX_PENDING];
	struct req *reqs[MAX_PENDING];
} fz;

static const long statuses[] = { 200, 200, 200, 200, 401, 404, 500, 503, 400, 409, 204, 302 };
static const CURLcode failures[] = { CURLE_OPERATION_TIMEDOUT, CURLE_COULDNT_CONNECT, CURLE_PEER_FAILED_VERIFICATION,
				     CURLE_WRITE_ERROR, CURLE_RECV_ERROR };

/* libcurl's own, for what the fuzzer does not answer. */
static __typeof__(curl_easy_getinfo) *real_getinfo;

static CURLMcode fuzz_multi_add(CURLM *multi, CURL *easy)
{
	(void)multi;
	if (fz.n_pending == MAX_PENDING)
		return CURLM_OUT_OF_MEMORY;
	fz.pending[fz.n_pending++] = easy;
	return CURLM_OK;
}

static CURLMcode fuzz_multi_remove(CURLM *multi, CURL *easy)
{
	(void)multi;
	(void)easy;
	return CURLM_OK;
}

/* Answer every pending request at once, in the order they were added. */
static CURLMcode fuzz_multi_perform(CURLM *multi, int *running)
{
	(void)multi;
	for (size_t i = 0; i < fz.n_pending; i++) {
		const uint8_t *seg;
		size_t len;
		char *priv = NULL;
		struct req *r;
		CURLcode result = CURLE_OK;

		real_getinfo(fz.pending[i], CURLINFO_PRIVATE, &priv);
		r = (struct req *)priv;
		fz.reqs[i] = r;
		fz.status[i] = 0;
		if (!fuzz_next(&fz.in, &seg, &len) || !len) {
			result = CURLE_COULDNT_CONNECT;
		} else if (seg[0] >= 0xf0) {
			result = failures[seg[0] % (sizeof(failures) / sizeof(failures[0]))];
		} else {
			fz.status[i] = statuses[seg[0] % (sizeof(statuses) / sizeof(statuses[0]))];
			if (len > 1 && on_data((char *)seg + 1, 1, len - 1, r) != len - 1)
				result = CURLE_WRITE_ERROR;
		}
		fz.msgs[i] = (CURLMsg){ .msg = CURLMSG_DONE, .easy_handle = fz.pending[i], .data.result = result };
	}
	fz.n_done = 0;
	*running = 0;
	return CURLM_OK;
}

static CURLMsg *fuzz_multi_info_read(CURLM *multi, int *left)
{
	(void)multi;
	if (fz.n_done == fz.n_pending) {
		fz.n_pending = fz.n_done = 0;
		*left = 0;
		return NULL;
	}
	*left = (int)(fz.n_pending - fz.n_done - 1);
	return &fz.msgs[fz.n_done++];
}

static CURLMcode fuzz_multi_poll(CURLM *multi, struct curl_waitfd *fds, unsigned nfds, int ms, int *ret)
{
	(void)multi;
	(void)fds;
	(void)nfds;
	(void)ms;
	if (ret)
		*ret = 0;
	return CURLM_OK;
}

static CURLcode fuzz_getinfo(CURL *easy, CURLINFO info, ...)
{
	void *out;
	va_list ap;

	va_start(ap, info);
	out = va_arg(ap, void *);
	va_end(ap);
	if (info == CURLINFO_RESPONSE_CODE) {
		for (size_t i = 0; i < fz.n_pending; i++)
			if (fz.pending[i] == easy) {
				*(long *)out = fz.status[i];
				return CURLE_OK;
			}
		*(long *)out = 0;
		return CURLE_OK;
	}
	return real_getinfo(easy, info, out);
}

/* Load libcurl as the driver does, then answer in its place. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	call_once(&curl_once, load_curl);
	if (curl_missing[0])
		abort();
	real_getinfo = curl.easy_getinfo;
	curl.easy_getinfo = fuzz_getinfo;
	curl.multi_add_handle = fuzz_multi_add;
	curl.multi_remove_handle = fuzz_multi_remove;
	curl.multi_perform = fuzz_multi_perform;
	curl.multi_poll = fuzz_multi_poll;
	curl.multi_info_read = fuzz_multi_info_read;
	return 0;
}

static void exercise(struct lbm *lb, uint8_t op)
{
	static const struct lbm_ref two[] = { { "web", "192.0.2.1:80" }, { "/Common/web", "/Common/192.0.2.2:80" } };

	fuzz_exercise(lb, op, two, "192.0.2.1:80");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct lbm_options opt = { .version = LBM_OPTIONS_VERSION,
					 .timeout_s = 2,
					 .user = "admin",
					 .password = "fuzz-secret-pw",
					 .basic_auth = size > 1 && (data[1] & 1) };
	struct lbm *lb = NULL;

	if (size < 2)
		return 0;
	fz.in = (struct fuzz_in){ .p = data + 2, .n = size - 2 };
	fz.n_pending = fz.n_done = 0;
	if (lbm_open(&lb, "f5://127.0.0.1:1", &opt) == 0)
		exercise(lb, data[0]);
	/* A password never appears in a message, unless F5 quoted it back. */
	if (lb && strstr(lbm_errmsg(lb), "fuzz-secret-pw") && !fuzz_has(data, size, "fuzz-secret-pw"))
		abort();
	lbm_close(lb);
	return 0;
}
