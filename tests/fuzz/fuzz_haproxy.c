// SPDX-License-Identifier: MIT
/* HAProxy runtime API replies: `show servers state`, `show stat` and the
 * answers to `set server`, as read by core/haproxy.c through a real unix
 * socket. Each connection the driver makes is answered with the next
 * segment of the input (fuzz.h), then closed; the input's first byte picks
 * what the driver is asked to do. */
#define _POSIX_C_SOURCE 200809L
#include "../../core/haproxy.c"
#include "fuzz.h"

#include <pthread.h>
#include <signal.h>

static struct {
	pthread_mutex_t lock;
	pthread_cond_t idle_cond;
	struct fuzz_in in;
	bool busy;
	int listen_fd;
	char dir[64];
	char path[100];
	char target[256];
} srv = { .lock = PTHREAD_MUTEX_INITIALIZER, .idle_cond = PTHREAD_COND_INITIALIZER };

/* Like HAProxy, read the commands up to "quit" before answering and
 * closing: closing with unread data would reset the connection. */
static void read_request(int fd)
{
	char buf[4096], tail[5] = "";
	struct pollfd p = { .fd = fd, .events = POLLIN };

	while (poll(&p, 1, 2000) == 1) {
		ssize_t got = recv(fd, buf, sizeof(buf), 0);

		if (got <= 0)
			return;
		for (ssize_t i = 0; i < got; i++) {
			memmove(tail, tail + 1, 4);
			tail[4] = buf[i];
		}
		if (!memcmp(tail, "quit\n", 5))
			return;
	}
}

static void serve(int fd)
{
	const uint8_t *seg = NULL;
	size_t len = 0, off = 0;
	uint8_t *copy = NULL;

	read_request(fd);

	pthread_mutex_lock(&srv.lock);
	srv.busy = true;
	if (fuzz_next(&srv.in, &seg, &len) && (copy = malloc(len ? len : 1)))
		memcpy(copy, seg, len);
	else
		len = 0;
	pthread_mutex_unlock(&srv.lock);
	while (off < len) {
		ssize_t w = send(fd, copy + off, len - off, MSG_NOSIGNAL);

		if (w <= 0)
			break;
		off += (size_t)w;
	}
	free(copy);
	close(fd);
	pthread_mutex_lock(&srv.lock);
	srv.busy = false;
	pthread_cond_broadcast(&srv.idle_cond);
	pthread_mutex_unlock(&srv.lock);
}

static void *server(void *arg)
{
	(void)arg;
	for (;;) {
		int fd = accept(srv.listen_fd, NULL, NULL);

		if (fd >= 0)
			serve(fd);
	}
	return NULL;
}

static void remove_socket(void)
{
	unlink(srv.path);
	rmdir(srv.dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	pthread_t t;

	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	snprintf(srv.dir, sizeof(srv.dir), "/tmp/lbm-fuzz-haproxy-XXXXXX");
	if (!mkdtemp(srv.dir))
		abort();
	snprintf(srv.path, sizeof(srv.path), "%s/admin.sock", srv.dir);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", srv.path);
	snprintf(srv.target, sizeof(srv.target), "haproxy://%s", sun.sun_path);
	srv.listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (srv.listen_fd < 0 || bind(srv.listen_fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    listen(srv.listen_fd, 16) < 0 || pthread_create(&t, NULL, server, NULL))
		abort();
	pthread_detach(t);
	atexit(remove_socket);
	return 0;
}

static void exercise(struct lbm *lb, uint8_t op)
{
	static const struct lbm_ref two[] = { { "web", "s1" }, { "web", "s2" } };

	fuzz_exercise(lb, op, two, "s1");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct lbm_options opt = { .version = LBM_OPTIONS_VERSION, .timeout_s = 2 };
	struct lbm *lb = NULL;

	if (!size)
		return 0;
	pthread_mutex_lock(&srv.lock);
	srv.in = (struct fuzz_in){ .p = data + 1, .n = size - 1 };
	pthread_mutex_unlock(&srv.lock);
	if (lbm_open(&lb, srv.target, &opt) == 0)
		exercise(lb, data[0]);
	/* To see what a corpus input makes the driver say. */
	if (getenv("LBM_FUZZ_VERBOSE"))
		fprintf(stderr, "op %#x: %s\n", data[0], lb ? lbm_errmsg(lb) : "out of memory");
	lbm_close(lb);
	/* The server must be done with this input before libFuzzer frees it. */
	pthread_mutex_lock(&srv.lock);
	while (srv.busy)
		pthread_cond_wait(&srv.idle_cond, &srv.lock);
	srv.in = (struct fuzz_in){ .done = true };
	pthread_mutex_unlock(&srv.lock);
	return 0;
}
