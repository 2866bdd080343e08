// SPDX-License-Identifier: MIT
/* HAProxy over its runtime API (the "stats socket"), on a unix socket or TCP,
 * or over the master CLI of the master-worker mode (-W, -Ws).
 *
 * Every connection is in interactive mode: "prompt", one command per line,
 * "quit". HAProxy then ends each command's output with a prompt ("\n> ", the
 * master CLI "\nmaster> "), so the replies can be told apart and a bulk
 * change of thousands of servers takes a few connections, side by side. On
 * the master CLI every command is sent to the current worker ("@1 "), and
 * the connections that old workers still hold after a reload are counted
 * too. One deadline bounds each exchange. */
#define _POSIX_C_SOURCE 200809L

#include "driver.h"
#include "statestore.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* A reply larger than this is not a runtime API talking. */
#define HAP_REPLY_MAX (64u << 20)
/* What HAProxy puts after each command's output in interactive mode. */
#define HAP_PROMPT "\n> "

/* srv_admin_state bits of `show servers state` (HAProxy's SRV_ADMF_*). */
enum {
	ADMF_FMAINT = 0x01, /* forced maintenance (CLI, or "disabled" in the configuration) */
	ADMF_IMAINT = 0x02, /* maintenance inherited from a tracked server */
	ADMF_CMAINT = 0x04, /* "disabled" in the configuration */
	ADMF_FDRAIN = 0x08, /* forced drain */
	ADMF_IDRAIN = 0x10, /* drain inherited from a tracked server */
	ADMF_RMAINT = 0x20, /* maintenance after a DNS resolution failure */
	ADMF_HMAINT = 0x40, /* FQDN set from the CLI */
	ADMF_MAINT = ADMF_FMAINT | ADMF_IMAINT | ADMF_RMAINT,
	ADMF_DRAIN = ADMF_FDRAIN | ADMF_IDRAIN,
};

/* srv_op_state (1 is starting, 2 running) */
enum {
	OP_STOPPED = 0,
	OP_STOPPING = 3
};
/* srv_check_state and srv_agent_state: CHK_ST_CONFIGURED, CHK_ST_ENABLED */
#define CHK_CONFIGURED 0x02
#define CHK_ENABLED 0x04

struct haproxy {
	int family;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char where[LBM_NAME_MAX];  /* the socket path or HOST:PORT, for messages */
	char state_file[PATH_MAX]; /* written after every change; "" for none */
	/* What answers: learnt from the first reply, which says "master> " on
	 * the master CLI. */
	enum {
		CLI_UNKNOWN,
		CLI_WORKER,
		CLI_MASTER
	} cli;
};

struct buf {
	char *data;
	size_t len, cap;
};

/* Room for len more bytes and a NUL. */
static int buf_reserve(struct lbm *lb, struct buf *b, size_t len)
{
	size_t cap = b->cap ? b->cap : 4096;
	char *grown;

	if (b->len + len + 1 <= b->cap)
		return 0;
	/* Bounded well below SIZE_MAX, so that doubling cannot wrap (and GCC's
	 * -O3 overflow analysis can see it does not). */
	if (len > HAP_REPLY_MAX || b->len > HAP_REPLY_MAX)
		return lbm_driver_fail(lb, LBM_EPROTO, "more than %u MiB to buffer", HAP_REPLY_MAX >> 20);
	while (cap < b->len + len + 1)
		cap *= 2;
	grown = realloc(b->data, cap);
	if (!grown)
		return lbm_fail(lb, LBM_ENOMEM, "out of memory");
	b->data = grown;
	b->cap = cap;
	return 0;
}

static int buf_add(struct lbm *lb, struct buf *b, const char *s, size_t len)
{
	int ret = buf_reserve(lb, b, len);

	if (ret < 0)
		return ret;
	memcpy(b->data + b->len, s, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

static int buf_printf(struct lbm *lb, struct buf *b, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int buf_printf(struct lbm *lb, struct buf *b, const char *fmt, ...)
{
	char line[3 * LBM_NAME_MAX];
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (len < 0 || (size_t)len >= sizeof(line))
		return lbm_driver_fail(lb, LBM_EINVAL, "command too long: %.60s...", line);
	return buf_add(lb, b, line, (size_t)len);
}

/* HAProxy names are letters, digits and "-_.:"; anything else could smuggle
 * a second command into a line, so it is refused rather than sent. */
static bool valid_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      strchr("-_.:", *s)))
			return false;
	return true;
}

static int name_error(struct lbm *lb, const char *typed)
{
	return lbm_driver_fail(lb, LBM_EINVAL,
			       "'%.64s' is not a backend name: "
			       "HAProxy names are letters, digits, '-', '_', '.' and ':'",
			       typed);
}

static int haproxy_pool_name(struct lbm *lb, const char *typed, char *out, size_t outsz)
{
	if (!valid_name(typed) || !lbm_copy(out, outsz, typed))
		return name_error(lb, typed);
	return 0;
}

static int connect_error(struct lbm *lb, const struct haproxy *hp, int err);

/* What the file system tells of a socket path, with no word to HAProxy:
 * connect() on a file that is not a socket says ECONNREFUSED. */
static int check_socket_file(struct lbm *lb, const struct haproxy *hp)
{
	struct stat st;

	if (stat(hp->where, &st) < 0)
		return connect_error(lb, hp, errno);
	if (!S_ISSOCK(st.st_mode))
		return lbm_driver_fail(lb, LBM_EINVAL,
				       "%s is not a socket: expected the path of HAProxy's 'stats socket'", hp->where);
	return 0;
}

static int open_unix(struct lbm *lb, struct haproxy *hp, const char *path)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)&hp->addr;

	if (strlen(path) >= sizeof(sun->sun_path))
		return lbm_driver_fail(lb, LBM_EINVAL, "socket path is longer than %zu bytes: %.64s...",
				       sizeof(sun->sun_path) - 1, path);
	sun->sun_family = AF_UNIX;
	strcpy(sun->sun_path, path);
	hp->family = AF_UNIX;
	hp->addrlen = sizeof(*sun);
	lbm_copy(hp->where, sizeof(hp->where), path);
	/* A path that cannot be a socket fails here, as io.open fails on a
	 * missing file, not at the first call. */
	return check_socket_file(lb, hp);
}

static int open_tcp(struct lbm *lb, struct haproxy *hp, const char *location)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&hp->addr;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&hp->addr;
	char host[LBM_NAME_MAX];
	unsigned port;

	if (!lbm_split_hostport(location, host, sizeof(host), &port) || !port)
		return lbm_driver_fail(lb, LBM_EINVAL,
				       "'%.64s' is not a runtime API address: expected haproxy:///path/to/admin.sock, "
				       "haproxy://IP:PORT or haproxy://[IPv6]:PORT",
				       location);
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		hp->addrlen = sizeof(*sin);
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		hp->addrlen = sizeof(*sin6);
	} else {
		/* No name lookup: a resolver cannot be bounded by our timeout. */
		return lbm_driver_fail(lb, LBM_EINVAL, "'%.64s' is not an IP address: expected haproxy://IP:PORT",
				       host);
	}
	hp->family = hp->addr.ss_family;
	lbm_copy(hp->where, sizeof(hp->where), location);
	return 0;
}

/* "?state-file=PATH" after the socket, or the state_file option (one of
 * them, or both the same). */
static int open_state_file(struct lbm *lb, struct haproxy *hp, const char *query, const char *option)
{
	static const char key[] = "?state-file=";
	const char *path = option;

	if (query && strncmp(query, key, strlen(key)))
		return lbm_driver_fail(lb, LBM_EINVAL, "target option '%.64s' is not known: expected ?state-file=PATH",
				       query + 1);
	if (query) {
		path = query + strlen(key);
		if (option && strcmp(option, path))
			return lbm_driver_fail(lb, LBM_EINVAL,
					       "state file given twice, '%.64s' in the target and '%.64s' as "
					       "state_file",
					       path, option);
	}
	if (!path)
		return 0;
	if (*path != '/')
		return lbm_driver_fail(lb, LBM_EINVAL, "state file '%.64s' is not an absolute path", path);
	if (!lbm_copy(hp->state_file, sizeof(hp->state_file), path))
		return lbm_driver_fail(lb, LBM_EINVAL, "state file path is longer than %zu bytes",
				       sizeof(hp->state_file) - 1);
	return 0;
}

static int haproxy_open(struct lbm *lb, const char *location, const struct lbm_options *opt)
{
	char where[LBM_NAME_MAX];
	const char *query = strchr(location, '?');
	struct haproxy *hp;
	int ret;

	lb->priv = hp = calloc(1, sizeof(*hp));
	if (!hp)
		return lbm_fail(lb, LBM_ENOMEM, "out of memory");
	lb->follows_across_pools = true; /* "track B/S" may name any backend */
	if (!*location || location == query)
		return lbm_driver_fail(lb, LBM_EINVAL,
				       "no runtime API socket given: expected haproxy:///path/to/admin.sock or "
				       "haproxy://IP:PORT");
	if ((size_t)(query ? query - location : (ptrdiff_t)strlen(location)) >= sizeof(where))
		return lbm_driver_fail(lb, LBM_EINVAL, "target is longer than %zu bytes", sizeof(where) - 1);
	snprintf(where, sizeof(where), "%.*s", (int)(query ? query - location : (ptrdiff_t)strlen(location)), location);
	ret = open_state_file(lb, hp, query, opt->state_file);
	if (ret < 0)
		return ret;
	if (*where == '/')
		return open_unix(lb, hp, where);
	return open_tcp(lb, hp, where);
}

static void haproxy_close(struct lbm *lb)
{
	free(lb->priv);
	lb->priv = NULL;
}

/* How many of pfd are ready, 0 once the deadline has passed, or -errno. */
static int poll_many(struct pollfd *pfd, size_t n, double deadline)
{
	for (;;) {
		double left = deadline - lbm_now();
		int ret;

		if (left <= 0)
			return 0;
		/* In slices, so that a huge timeout cannot overflow poll()'s int. */
		ret = poll(pfd, (nfds_t)n, left > 60 ? 60000 : (int)(left * 1000) + 1);
		if (ret != 0 && !(ret < 0 && errno == EINTR))
			return ret < 0 ? -errno : ret;
	}
}

/* revents, 0 once the deadline has passed, or -errno. */
static int poll_until(int fd, short events, double deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int ret = poll_many(&pfd, 1, deadline);

	return ret > 0 ? pfd.revents : ret;
}

static int connect_error(struct lbm *lb, const struct haproxy *hp, int err)
{
	if (hp->family != AF_UNIX) {
		if (err == ECONNREFUSED)
			return lbm_driver_fail(lb, LBM_EIO,
					       "connection refused by %s: is HAProxy running with 'stats socket %s@%s "
					       "level admin'?",
					       hp->where, hp->family == AF_INET6 ? "ipv6" : "ipv4", hp->where);
		return lbm_driver_fail(lb, LBM_EIO, "cannot connect to %s: %s", hp->where, strerror(err));
	}
	switch (err) {
	case ENOENT:
		return lbm_driver_fail(lb, LBM_EIO,
				       "no socket at %s: is HAProxy running with 'stats socket %s level admin'?",
				       hp->where, hp->where);
	case EACCES:
		return lbm_driver_fail(lb, LBM_EPERM,
				       "permission denied on %s: run as a user the socket's mode/user/group allow",
				       hp->where);
	case ECONNREFUSED:
		return lbm_driver_fail(lb, LBM_EIO,
				       "connection refused on %s: nothing listens there (a stale socket of a stopped "
				       "HAProxy?)",
				       hp->where);
	}
	return lbm_driver_fail(lb, LBM_EIO, "cannot connect to %s: %s", hp->where, strerror(err));
}

/* A connected non-blocking socket, or a negative code. */
static int hap_connect(struct lbm *lb, const struct haproxy *hp, double deadline)
{
	int fd, err = 0, revents;
	socklen_t len = sizeof(err);

	/* The path may have changed since open (HAProxy restarted, or stopped). */
	if (hp->family == AF_UNIX && (err = check_socket_file(lb, hp)) < 0)
		return err;
	fd = socket(hp->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return lbm_driver_fail(lb, LBM_EIO, "socket: %s", strerror(errno));
	/* A unix socket whose backlog is full (HAProxy at its "stats maxconn",
	 * other clients busy) says EAGAIN at once: try again until the deadline. */
	for (;;) {
		if (connect(fd, (const struct sockaddr *)&hp->addr, hp->addrlen) == 0)
			return fd;
		if (errno != EAGAIN || hp->family != AF_UNIX)
			break;
		if (lbm_now() >= deadline) {
			close(fd);
			return lbm_driver_fail(lb, LBM_ETIMEDOUT, "%s accepted no connection within %g s (busy?)",
					       hp->where, lb->timeout_s);
		}
		lbm_sleep(0.002);
	}
	if (errno != EINPROGRESS) {
		err = errno;
		close(fd);
		return connect_error(lb, hp, err);
	}
	revents = poll_until(fd, POLLOUT, deadline);
	if (revents <= 0) {
		close(fd);
		if (revents < 0)
			return lbm_driver_fail(lb, LBM_EIO, "poll: %s", strerror(-revents));
		return lbm_driver_fail(lb, LBM_ETIMEDOUT, "no connection to %s within %g s", hp->where, lb->timeout_s);
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err) {
		close(fd);
		return connect_error(lb, hp, err);
	}
	return fd;
}

static int recv_some(struct lbm *lb, const struct haproxy *hp, int fd, struct buf *reply, bool *eof)
{
	int ret = buf_reserve(lb, reply, 65536);
	ssize_t got;

	if (ret < 0)
		return ret;
	got = recv(fd, reply->data + reply->len, reply->cap - reply->len - 1, MSG_DONTWAIT);
	if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 0;
	if (got < 0)
		return lbm_driver_fail(lb, LBM_EIO, "reading from %s: %s", hp->where, strerror(errno));
	*eof = got == 0;
	reply->len += (size_t)got;
	reply->data[reply->len] = '\0';
	if (reply->len > HAP_REPLY_MAX)
		return lbm_driver_fail(lb, LBM_EPROTO, "%s answered more than %u MiB: not a runtime API reply",
				       hp->where, HAP_REPLY_MAX >> 20);
	return 0;
}

/* Up to this many connections at once: HAProxy's "stats maxconn" is 10 by
 * default, shared with every other client of the socket. */
#define HAP_PARALLEL 2

/* Send each request on its own connection while reading its reply (HAProxy
 * answers as it reads, so a large request must not wait for the whole of it
 * to be sent) until HAProxy closes the connection. Up to HAP_PARALLEL run
 * side by side, the next starting as one ends: a multi-threaded HAProxy
 * (nbthread is the number of CPUs by default) serves them at the same
 * time. Whatever arrived is in replies, also on failure. */
static int exchange(struct lbm *lb, const struct buf *reqs, struct buf *replies, size_t n)
{
	const struct haproxy *hp = lb->priv;
	double deadline = lbm_now() + lb->timeout_s;
	struct pollfd pfd[HAP_PARALLEL];
	size_t req[HAP_PARALLEL] = { 0 }, sent[HAP_PARALLEL] = { 0 }, next = 0, open = 0;
	int ret = 0;

	for (size_t k = 0; k < HAP_PARALLEL; k++)
		pfd[k].fd = -1;
	while (ret == 0 && (open || next < n)) {
		int ready;

		for (size_t k = 0; k < HAP_PARALLEL && next < n && ret == 0; k++) {
			if (pfd[k].fd >= 0)
				continue;
			pfd[k].fd = hap_connect(lb, hp, deadline);
			if (pfd[k].fd < 0) {
				ret = pfd[k].fd;
				pfd[k].fd = -1;
			} else if ((ret = buf_add(lb, &replies[next], "", 0)) == 0) {
				req[k] = next++;
				sent[k] = 0;
				open++;
			}
		}
		if (ret < 0)
			break;
		for (size_t k = 0; k < HAP_PARALLEL; k++)
			pfd[k].events =
				pfd[k].fd < 0 ? 0 : (short)(POLLIN | (sent[k] < reqs[req[k]].len ? POLLOUT : 0));
		ready = poll_many(pfd, HAP_PARALLEL, deadline);
		if (ready == 0)
			ret = lbm_driver_fail(lb, LBM_ETIMEDOUT,
					      "%s did not answer within %g s "
					      "(a hung HAProxy, or not a runtime API socket?)",
					      hp->where, lb->timeout_s);
		else if (ready < 0)
			ret = lbm_driver_fail(lb, LBM_EIO, "poll: %s", strerror(-ready));
		for (size_t k = 0; k < HAP_PARALLEL && ret == 0; k++) {
			const struct buf *r;
			bool eof = false;

			if (pfd[k].fd < 0)
				continue;
			r = &reqs[req[k]];
			if ((pfd[k].revents & POLLOUT) && sent[k] < r->len) {
				ssize_t got = send(pfd[k].fd, r->data + sent[k], r->len - sent[k],
						   MSG_DONTWAIT | MSG_NOSIGNAL);

				if (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
					/* HAProxy may close early (e.g. a line it refused): read what it said. */
					sent[k] = r->len;
				else if (got > 0)
					sent[k] += (size_t)got;
			}
			if (pfd[k].revents & (POLLIN | POLLHUP | POLLERR))
				ret = recv_some(lb, hp, pfd[k].fd, &replies[req[k]], &eof);
			if (ret == 0 && eof) {
				close(pfd[k].fd);
				pfd[k].fd = -1;
				open--;
			}
		}
	}
	for (size_t k = 0; k < HAP_PARALLEL; k++)
		if (pfd[k].fd >= 0)
			close(pfd[k].fd);
	return ret;
}

/* The length of the master CLI's prompt at s, or 0: "master> ", and
 * "master[ReloadFailed]> " or "master(x)> " in some states. */
static size_t master_prompt(const char *s)
{
	const char *p = s;

	if (strncmp(p, "master", 6))
		return 0;
	p += 6;
	if (*p == '[' && (p = strchr(p, ']')))
		p++;
	if (p && *p == '(' && (p = strchr(p, ')')))
		p++;
	return p && !strncmp(p, "> ", 2) ? (size_t)(p + 2 - s) : 0;
}

/* The next command's output in an interactive-mode reply, NUL-terminated in
 * place, or NULL when the reply ends before that output is complete. */
static char *next_block(const struct haproxy *hp, char **cursor)
{
	char *block = *cursor, *end = block;
	size_t len = 0;

	if (!block)
		return NULL;
	if (hp->cli != CLI_MASTER) {
		end = strstr(block, HAP_PROMPT);
		len = strlen(HAP_PROMPT);
	} else {
		while ((end = strstr(end, "\nmaster")) && !(len = master_prompt(end + 1)))
			end++;
		len += 1;
	}
	if (!end)
		return NULL;
	*end = '\0';
	*cursor = end + len;
	return block;
}

/* A short excerpt of an unexpected reply, printable and on one line. */
static const char *excerpt(const char *s, char *out, size_t outsz)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < outsz && i < 60; i++)
		out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : ' ';
	out[i] = '\0';
	while (i && out[i - 1] == ' ')
		out[--i] = '\0';
	return out;
}

static void chomp(char *s)
{
	size_t len = strlen(s);

	while (len && (s[len - 1] == '\n' || s[len - 1] == '\r'))
		s[--len] = '\0';
}

/* run() found the master CLI where it sent a worker's commands: build them
 * again for it (nothing was applied: it knows none of them). */
#define HAP_RETRY 1

/* A request: "prompt", the commands, "quit"; on the master CLI each command
 * line that names no process ("@...") goes to the current worker. */
static int request(struct lbm *lb, const struct buf *cmds, struct buf *req)
{
	const struct haproxy *hp = lb->priv;
	const char *line = cmds->data, *end = cmds->data + cmds->len;
	int ret = buf_add(lb, req, "prompt\n", 7);

	while (ret == 0 && line < end) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t len = nl ? (size_t)(nl + 1 - line) : (size_t)(end - line);

		if (hp->cli == CLI_MASTER && *line != '@')
			ret = buf_add(lb, req, "@1 ", 3);
		if (ret == 0)
			ret = buf_add(lb, req, line, len);
		line += len;
	}
	return ret ? ret : buf_add(lb, req, "quit\n", 5);
}

/* Send each cmds[i] on a connection of its own; return each reply,
 * positioned after the prompt command's own (empty) output, or HAP_RETRY. */
static int run(struct lbm *lb, const struct buf *cmds, struct buf *replies, char **cursors, size_t n)
{
	struct haproxy *hp = lb->priv;
	struct buf *reqs = calloc(n, sizeof(*reqs));
	char ex[64];
	int ret = reqs ? 0 : lbm_fail(lb, LBM_ENOMEM, "out of memory");

	for (size_t i = 0; i < n && ret == 0; i++)
		ret = request(lb, &cmds[i], &reqs[i]);
	if (ret == 0)
		ret = exchange(lb, reqs, replies, n);
	for (size_t i = 0; i < n; i++) {
		size_t master = replies[i].data ? master_prompt(replies[i].data) : 0;

		if (reqs)
			free(reqs[i].data);
		cursors[i] = replies[i].data;
		if (ret == 0 && master && hp->cli != CLI_MASTER) {
			hp->cli = CLI_MASTER;
			ret = HAP_RETRY;
		}
		/* Also after a failure: what was answered tells what was done. */
		if (hp->cli == CLI_MASTER && master && ret != HAP_RETRY) {
			cursors[i] += master;
			continue;
		}
		if (replies[i].data && hp->cli != CLI_MASTER && next_block(hp, &cursors[i])) {
			hp->cli = CLI_WORKER;
			continue;
		}
		cursors[i] = NULL;
		if (ret == 0)
			ret = lbm_driver_fail(lb, LBM_EPROTO,
					      "%s does not answer like an HAProxy runtime API (got '%s'): expected a "
					      "'stats socket' or the master CLI",
					      hp->where,
					      excerpt(replies[i].data ? replies[i].data : "", ex, sizeof(ex)));
	}
	free(reqs);
	return ret;
}

/* Split a line into fields at sep, in place; returns the number of fields. */
static size_t split(char *line, char sep, char **fields, size_t max)
{
	size_t n = 0;

	/* A byte loop, not strchr(): fields are a few bytes long, and a call
	 * per field cost more than the scan. */
	while (n < max) {
		fields[n++] = line;
		while (*line && *line != sep)
			line++;
		if (!*line)
			break;
		*line++ = '\0';
	}
	return n;
}

/* Column positions, found by name in each reply's header line, so that
 * HAProxy versions with more or reordered columns still parse. */
enum {
	S_BE,
	S_SRV,
	S_ADDR,
	S_OP,
	S_ADMIN,
	S_UWEIGHT,
	S_IWEIGHT,
	S_CHECK,
	S_AGENT,
	S_PORT,
	S_NCOLS
};
static const char *const state_cols[S_NCOLS] = {
	"be_name",     "srv_name",    "srv_addr",	 "srv_op_state",    "srv_admin_state",
	"srv_uweight", "srv_iweight", "srv_check_state", "srv_agent_state", "srv_port",
};
enum {
	T_PX,
	T_SV,
	T_SCUR,
	T_STATUS,
	T_TRACKED,
	T_NCOLS
};
static const char *const stat_cols[T_NCOLS] = { "pxname", "svname", "scur", "status", "tracked" };

#define MAX_COLS 256

/* Returns how many fields of a row to split, 0 if a column is missing: rows
 * are split up to the last column used plus one (which ends it), not over
 * all of show stat's hundred. */
static size_t find_cols(char *header, char sep, const char *const *names, size_t n, int *pos)
{
	char *fields[MAX_COLS];
	size_t nf = split(header, sep, fields, MAX_COLS), used = 0;

	for (size_t c = 0; c < n; c++) {
		pos[c] = -1;
		for (size_t f = 0; f < nf; f++)
			if (!strcmp(fields[f], names[c]))
				pos[c] = (int)f;
		if (pos[c] < 0)
			return 0;
		if ((size_t)pos[c] + 2 > used)
			used = (size_t)pos[c] + 2;
	}
	return used < MAX_COLS ? used : MAX_COLS;
}

/* One server's `show stat` row, as the fields we use. */
struct stat_row {
	const char *px, *sv, *scur, *status, *tracked;
	long old; /* connections on old workers (master CLI); -1: not countable */
};

struct stats {
	struct stat_row *rows;
	size_t n, cap, next; /* next: where the following lookup starts */
};

static int parse_stat(struct lbm *lb, char *block, struct stats *st)
{
	const struct haproxy *hp = lb->priv;
	int pos[T_NCOLS];
	char *line, *save = NULL, ex[64];
	size_t ncols;

	line = strtok_r(block, "\n", &save);
	if (!line || strncmp(line, "# ", 2) || !(ncols = find_cols(line + 2, ',', stat_cols, T_NCOLS, pos)))
		return lbm_driver_fail(lb, LBM_EPROTO, "unexpected reply to 'show stat' from %s: '%s'", hp->where,
				       excerpt(line ? line : "", ex, sizeof(ex)));
	while ((line = strtok_r(NULL, "\n", &save))) {
		char *f[MAX_COLS];
		size_t nf = split(line, ',', f, ncols);
		struct stat_row *grown;

		if (nf <= (size_t)pos[T_TRACKED] || nf <= (size_t)pos[T_STATUS] || nf <= (size_t)pos[T_SCUR])
			return lbm_driver_fail(lb, LBM_EPROTO, "short 'show stat' line from %s", hp->where);
		if (st->n == st->cap) {
			grown = realloc(st->rows, (st->cap ? 2 * st->cap : 64) * sizeof(*grown));
			if (!grown)
				return lbm_fail(lb, LBM_ENOMEM, "out of memory");
			st->rows = grown;
			st->cap = st->cap ? 2 * st->cap : 64;
		}
		st->rows[st->n++] = (struct stat_row){ f[pos[T_PX]],	 f[pos[T_SV]],	    f[pos[T_SCUR]],
						       f[pos[T_STATUS]], f[pos[T_TRACKED]], 0 };
	}
	return 0;
}

/* Whether `show stat` has any row of the proxy. */
static bool has_proxy(const struct stats *st, const char *be)
{
	for (size_t i = 0; i < st->n; i++)
		if (!strcmp(st->rows[i].px, be))
			return true;
	return false;
}

/* Both replies list servers in the same order, so the lookup is usually
 * the next row; it falls back to a search. */
static const struct stat_row *find_stat(struct stats *st, const char *be, const char *srv)
{
	for (size_t k = 0; k < st->n; k++) {
		size_t i = (st->next + k) % st->n;

		if (!strcmp(st->rows[i].px, be) && !strcmp(st->rows[i].sv, srv)) {
			st->next = i + 1;
			return &st->rows[i];
		}
	}
	return NULL;
}

/* A decimal field, or fallback when it is anything else. Not strtol():
 * seven numbers per server, and strtol() was a fifth of a listing's CPU. */
static long parse_long(const char *s, long fallback)
{
	bool negative = *s == '-';
	long v = 0;

	s += negative;
	if (!*s)
		return fallback;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (LONG_MAX - (*s - '0')) / 10)
			return fallback;
		v = v * 10 + (*s - '0');
	}
	return negative ? -v : v;
}

static void append(char *dst, size_t dstsz, const char *s)
{
	size_t len = strlen(dst);

	lbm_copy(dst + len, dstsz - len, s);
}

/* Said in the status of a server with an agent check: its agent can force
 * drain or maintenance again, whatever an operator sets. */
#define AGENT_NOTE " agent-check"

/* HAProxy's status text, then the administrative flags behind it. */
static const char *status_of(struct lbm_listing *l, const char *status, long admin, long agent)
{
	static const struct {
		long bit;
		const char *name;
	} flags[] = {
		{ ADMF_FMAINT, "FMAINT" }, { ADMF_IMAINT, "IMAINT" }, { ADMF_CMAINT, "CMAINT" },
		{ ADMF_FDRAIN, "FDRAIN" }, { ADMF_IDRAIN, "IDRAIN" }, { ADMF_RMAINT, "RMAINT" },
		{ ADMF_HMAINT, "HMAINT" },
	};
	const char *sep = " [";
	char text[LBM_NAME_MAX];

	lbm_copy(text, sizeof(text), status);
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		if (admin & flags[i].bit) {
			append(text, sizeof(text), sep);
			append(text, sizeof(text), flags[i].name);
			sep = ",";
		}
	}
	if (*sep == ',')
		append(text, sizeof(text), "]");
	if (agent & CHK_CONFIGURED)
		append(text, sizeof(text), agent & CHK_ENABLED ? AGENT_NOTE : AGENT_NOTE " (paused)");
	return lbm_str(l, text);
}

/* Why a server stays out after `set server ... state ready`: what only its
 * configuration, a tracked server, DNS or its checks can change; NULL when
 * nothing does. */
static const char *held_of(struct lbm_listing *l, const struct lbm_member *m, long admin, long op, long iweight,
			   const struct stat_row *st)
{
	const char *tracked = *st->tracked ? st->tracked : "?";

	if (admin & ADMF_IMAINT)
		return lbm_strf(l, "maintenance inherited from tracked server %s", tracked);
	if (admin & ADMF_RMAINT)
		return "maintenance while its name does not resolve (DNS)";
	if (admin & ADMF_IDRAIN)
		return lbm_strf(l, "drain inherited from tracked server %s", tracked);
	if (m->weight == 0)
		return iweight == 0 ? "weight 0 in the configuration: enable it with a weight"
				    : "weight 0: enable it with a weight";
	if (!(admin & (ADMF_MAINT | ADMF_DRAIN)) && op == OP_STOPPING)
		return lbm_strf(l, "its checks report %s", st->status);
	return NULL;
}

static void fill_member(struct lbm_listing *l, struct lbm_member *m, char **f, const int *pos,
			const struct stat_row *st)
{
	long admin = parse_long(f[pos[S_ADMIN]], 0), op = parse_long(f[pos[S_OP]], OP_STOPPED);
	long check = parse_long(f[pos[S_CHECK]], 0), agent = parse_long(f[pos[S_AGENT]], 0);
	long port = parse_long(f[pos[S_PORT]], 0);

	if (strcmp(f[pos[S_ADDR]], "-"))
		lbm_copy(m->address, sizeof(m->address), f[pos[S_ADDR]]);
	m->port = port > 0 && port < 65536 ? (unsigned)port : 0;
	m->weight = (int)parse_long(f[pos[S_UWEIGHT]], -1);
	m->active = parse_long(st->scur, -1);
	if (m->active >= 0)
		m->active = st->old < 0 ? -1 : m->active + st->old;
	/* State comes from this one `show servers state` line only. HAProxy
	 * writes MAINT or DRAIN in `show stat` only for these admin flags, and
	 * that row is read by a second command: another client's change can
	 * land between the two, and the status text must not outvote them. */
	if (admin & ADMF_MAINT)
		m->state = LBM_STATE_DISABLED;
	else if ((admin & ADMF_DRAIN) || m->weight == 0 || op == OP_STOPPING)
		m->state = LBM_STATE_DRAINING;
	else
		m->state = LBM_STATE_ENABLED;
	/* Checks pause in maintenance; a server without checks is "no check". */
	if ((admin & ADMF_MAINT) || !(((check | agent) & CHK_CONFIGURED) || *st->tracked))
		m->health = LBM_HEALTH_UNKNOWN;
	else
		m->health = op == OP_STOPPED ? LBM_HEALTH_DOWN : LBM_HEALTH_UP;
	if (agent & CHK_CONFIGURED)
		m->flags |= LBM_MEMBER_AGENT;
	m->status = status_of(l, st->status, admin, agent);
	m->held = held_of(l, m, admin, op, parse_long(f[pos[S_IWEIGHT]], -1), st);
	m->follows = *st->tracked ? lbm_str(l, st->tracked) : NULL;
}

static int parse_state(struct lbm *lb, char *block, struct stats *st, struct lbm_listing *l)
{
	const struct haproxy *hp = lb->priv;
	struct lbm_pool *pool = NULL;
	int pos[S_NCOLS];
	char *line, *save = NULL, ex[64];
	size_t ncols;

	line = strtok_r(block, "\n", &save);
	if (!line || strcmp(line, "1"))
		return lbm_driver_fail(lb, LBM_EPROTO,
				       "unexpected reply to 'show servers state' from %s: '%s' (expected format 1)",
				       hp->where, excerpt(line ? line : "", ex, sizeof(ex)));
	line = strtok_r(NULL, "\n", &save);
	if (!line || strncmp(line, "# ", 2) || !(ncols = find_cols(line + 2, ' ', state_cols, S_NCOLS, pos)))
		return lbm_driver_fail(lb, LBM_EPROTO, "unexpected 'show servers state' header from %s: '%s'",
				       hp->where, excerpt(line ? line : "", ex, sizeof(ex)));
	while ((line = strtok_r(NULL, "\n", &save))) {
		char *f[MAX_COLS];
		size_t nf = split(line, ' ', f, ncols);
		const struct stat_row *row;
		struct lbm_member *m;

		for (size_t c = 0; c < S_NCOLS; c++)
			if ((size_t)pos[c] >= nf)
				return lbm_driver_fail(lb, LBM_EPROTO, "short 'show servers state' line from %s",
						       hp->where);
		row = find_stat(st, f[pos[S_BE]], f[pos[S_SRV]]);
		/* HAProxy's own proxies (the master-worker mode's MASTER, whose
		 * servers are its workers, in 2.0 to 2.4) are in `show servers
		 * state` and nowhere in `show stat`: not pools. */
		if (!row && !has_proxy(st, f[pos[S_BE]]))
			continue;
		if (!row)
			return lbm_driver_fail(lb, LBM_EPROTO,
					       "%s/%s is in 'show servers state' but not in 'show stat'", f[pos[S_BE]],
					       f[pos[S_SRV]]);
		if (!pool || strcmp(pool->name, f[pos[S_BE]])) {
			pool = lbm_pool_add(l, f[pos[S_BE]]);
			if (!pool)
				return lbm_fail(lb, LBM_ENOMEM, "out of memory");
		}
		m = lbm_pool_add_member(l, pool, f[pos[S_SRV]]);
		if (!m)
			return lbm_fail(lb, LBM_ENOMEM, "out of memory");
		fill_member(l, m, f, pos, row);
	}
	return 0;
}

/* HAProxy's error line in place of a command's output; what names the
 * command or the backend/server it was about. */
static int reply_error(struct lbm *lb, const char *what, char *block)
{
	char ex[64];

	chomp(block);
	if (!strcmp(block, "Permission denied"))
		return lbm_driver_fail(lb, LBM_EPERM,
				       "%s: Permission denied: the socket %s must be a 'stats socket ... level admin'",
				       what, ((struct haproxy *)lb->priv)->where);
	if (!strcmp(block, "No such backend.") || !strcmp(block, "No such server."))
		return lbm_driver_fail(lb, LBM_ENOTFOUND, "%s: %s", what, block);
	return lbm_driver_fail(lb, LBM_EPROTO, "%s: %s", what, excerpt(block, ex, sizeof(ex)));
}

/* HAProxy refuses a command with one line of text; anything else (a CSV
 * header, even with no rows after it) is for the parsers to judge. */
static bool refused(const char *block)
{
	const char *nl = strchr(block, '\n');

	return *block != '#' && (!nl || !nl[1]);
}

/* One backend's two replies, or every backend's. */
static int check_replies(struct lbm *lb, const char *pool, char *state, char *stat)
{
	if (!state || !stat)
		return lbm_driver_fail(lb, LBM_EPROTO,
				       "%s closed before answering 'show servers state' and 'show stat'",
				       ((struct haproxy *)lb->priv)->where);
	if (pool && !strcmp(state, "Can't find backend.\n"))
		return lbm_driver_fail(lb, LBM_ENOTFOUND, "no backend '%s'", pool);
	if (refused(state))
		return reply_error(lb, "'show servers state'", state);
	if (refused(stat))
		return reply_error(lb, "'show stat'", stat);
	return 0;
}

/* Old workers counted at most: beyond, their connections are not counted. */
#define HAP_OLD_MAX 64

/* The PIDs of the old workers in the master CLI's `show proc`: the first
 * field of each line under "# old workers", in every layout (2.0 to 3.x).
 * Returns how many, or HAP_OLD_MAX + 1 when there are more. */
static size_t old_workers(char *block, long *pids)
{
	char *line, *save = NULL, *end;
	bool old = false;
	size_t n = 0;

	for (line = strtok_r(block, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (*line == '#') {
			old = !strncmp(line, "# old workers", 13);
			continue;
		}
		if (!old)
			continue;
		if (n == HAP_OLD_MAX)
			return HAP_OLD_MAX + 1;
		pids[n] = strtol(line, &end, 10);
		if (end != line && pids[n] > 0)
			n++;
	}
	return n;
}

/* Add what an old worker holds (its `show info`, then one `show stat` per
 * pool) to st's rows. A worker gone meanwhile holds nothing; one that
 * lists no row for a server (2.2 hides the proxies of a stopping worker)
 * but still holds connections makes that server's count unknown. */
static int add_old_worker(struct lbm *lb, struct stats *st, char **cursor, size_t nstats)
{
	struct stats old = { 0 };
	char *info = next_block(lb->priv, cursor);
	const char *conns = info ? strstr(info, "CurrConns: ") : NULL;
	long held = conns ? strtol(conns + strlen("CurrConns: "), NULL, 10) : -1;
	int ret = 0;

	if (!info || strstr(info, "Can't find the target PID"))
		return 0;
	for (size_t i = 0; i < nstats && ret == 0; i++) {
		char *block = next_block(lb->priv, cursor);

		if (block && *block == '#')
			ret = parse_stat(lb, block, &old);
	}
	for (size_t i = 0; i < st->n && ret == 0; i++) {
		struct stat_row *row = &st->rows[i];
		const struct stat_row *o = old.n ? find_stat(&old, row->px, row->sv) : NULL;
		long scur = o ? parse_long(o->scur, -1) : (held == 0 ? 0 : -1);

		row->old = row->old < 0 || scur < 0 ? -1 : row->old + scur;
	}
	free(old.rows);
	return ret;
}

/* On the master CLI: the connections old workers still hold, one
 * connection per worker (the master CLI closes one that names a worker
 * gone meanwhile). */
static int count_old_workers(struct lbm *lb, const char *const *names, size_t n, char *proc, struct stats *st)
{
	long pids[HAP_OLD_MAX];
	size_t npids = old_workers(proc, pids);
	struct buf *cmds, *replies;
	char **cursors;
	int ret = 0;

	if (npids > HAP_OLD_MAX) {
		for (size_t i = 0; i < st->n; i++)
			st->rows[i].old = -1;
		return 0;
	}
	if (!npids)
		return 0;
	cmds = calloc(npids, sizeof(*cmds));
	replies = calloc(npids, sizeof(*replies));
	cursors = calloc(npids, sizeof(*cursors));
	if (!cmds || !replies || !cursors)
		ret = lbm_fail(lb, LBM_ENOMEM, "out of memory");
	for (size_t p = 0; p < npids && ret == 0; p++) {
		ret = buf_printf(lb, &cmds[p], "@!%ld show info\n", pids[p]);
		for (size_t i = 0; i < (names ? n : 1) && ret == 0; i++)
			ret = buf_printf(lb, &cmds[p], "@!%ld show stat %s 4 -1\n", pids[p], names ? names[i] : "-1");
	}
	if (ret == 0)
		ret = run(lb, cmds, replies, cursors, npids);
	for (size_t p = 0; p < npids && ret == 0; p++)
		if (cursors[p])
			ret = add_old_worker(lb, st, &cursors[p], names ? n : 1);
	for (size_t p = 0; cmds && replies && p < npids; p++) {
		free(cmds[p].data);
		free(replies[p].data);
	}
	free(cmds);
	free(replies);
	free(cursors);
	return ret;
}

/* Every backend, or the n named ones: `show servers state` for the state
 * on one connection, `show stat` (type 4: servers only) for what it shows
 * on another, side by side; on the master CLI, `show proc` first, then
 * what the old workers hold. */
static int haproxy_list(struct lbm *lb, const char *const *names, size_t n, struct lbm_listing *out)
{
	enum {
		STATE,
		STAT
	};
	const struct haproxy *hp = lb->priv;
	struct buf cmds[2] = { 0 }, replies[2] = { 0 };
	struct stats st = { 0 };
	char *cursors[2], **blocks = NULL, *proc = NULL;
	size_t nblocks = names ? n : 1;
	int ret = 0;

	for (size_t i = 0; names && i < n && ret == 0; i++)
		/* The core checked them already; this guards the command line itself. */
		if (!valid_name(names[i]))
			ret = name_error(lb, names[i]);
	if (ret == 0 && !(blocks = calloc(2 * nblocks, sizeof(*blocks))))
		ret = lbm_fail(lb, LBM_ENOMEM, "out of memory");
	do {
		for (size_t i = 0; i < 2; i++)
			cmds[i].len = replies[i].len = 0;
		if (ret == HAP_RETRY)
			ret = 0;
		if (ret == 0 && hp->cli == CLI_MASTER)
			ret = buf_printf(lb, &cmds[STATE], "@master show proc\n");
		for (size_t i = 0; names && i < n && ret == 0; i++)
			if ((ret = buf_printf(lb, &cmds[STATE], "show servers state %s\n", names[i])) == 0)
				ret = buf_printf(lb, &cmds[STAT], "show stat %s 4 -1\n", names[i]);
		if (!names && ret == 0 && (ret = buf_printf(lb, &cmds[STATE], "show servers state\n")) == 0)
			ret = buf_printf(lb, &cmds[STAT], "show stat -1 4 -1\n");
		if (ret == 0)
			ret = run(lb, cmds, replies, cursors, 2);
	} while (ret == HAP_RETRY);
	if (ret < 0)
		goto out;
	if (hp->cli == CLI_MASTER)
		proc = next_block(hp, &cursors[STATE]);
	for (size_t i = 0; i < nblocks; i++) {
		blocks[2 * i] = next_block(hp, &cursors[STATE]);
		blocks[2 * i + 1] = next_block(hp, &cursors[STAT]);
	}
	/* Every stat reply first: the state rows are matched against them all. */
	for (size_t i = 0; i < nblocks && ret == 0; i++) {
		ret = check_replies(lb, names ? names[i] : NULL, blocks[2 * i], blocks[2 * i + 1]);
		if (ret == 0)
			ret = parse_stat(lb, blocks[2 * i + 1], &st);
	}
	if (ret == 0 && proc)
		ret = count_old_workers(lb, names, n, proc, &st);
	for (size_t i = 0; i < nblocks && ret == 0; i++) {
		size_t before = out->n;

		ret = parse_state(lb, blocks[2 * i], &st, out);
		/* A backend without servers is still a pool: list it, empty. */
		if (ret == 0 && names && out->n == before && !lbm_pool_add(out, names[i]))
			ret = lbm_fail(lb, LBM_ENOMEM, "out of memory");
	}
out:
	free(blocks);
	free(st.rows);
	for (size_t i = 0; i < 2; i++) {
		free(cmds[i].data);
		free(replies[i].data);
	}
	return ret;
}

static const char *const state_words[] = {
	[LBM_STATE_ENABLED] = "ready",
	[LBM_STATE_DRAINING] = "drain",
	[LBM_STATE_DISABLED] = "maint",
};

/* HAProxy takes absolute weights from 0 to 256. */
#define HAP_WEIGHT_MAX 256

/* Called by the core before anything is touched, and again here before a
 * name goes into a command line. */
static int haproxy_check(struct lbm *lb, const struct lbm_item *item)
{
	if (!valid_name(item->pool) || !valid_name(item->member->name))
		return lbm_driver_fail(lb, LBM_EINVAL, "'%s/%s' is not a valid HAProxy server name", item->pool,
				       item->member->name);
	if (item->weight > HAP_WEIGHT_MAX)
		return lbm_driver_fail(lb, LBM_EINVAL, "weight %d is out of range: HAProxy accepts 0 to %d",
				       item->weight, HAP_WEIGHT_MAX);
	if (item->state < LBM_STATE_ENABLED || item->state > LBM_STATE_DISABLED)
		return lbm_driver_fail(lb, LBM_EINVAL, "%s/%s: no such state", item->pool, item->member->name);
	return 0;
}

static bool has_agent(const struct lbm_item *item)
{
	return item->member->flags & LBM_MEMBER_AGENT;
}

/* The lines of an item: its weight first, so that a server coming back
 * takes its new weight from its first connection; then its state. An agent
 * answering "ready" puts a drained or disabled server back within one
 * agent-inter, so it is paused before the server goes out, and resumed
 * after it comes back. */
static int item_lines(const struct lbm_item *item)
{
	return 1 + (item->weight >= 0) + has_agent(item);
}

static int build_apply(struct lbm *lb, const struct lbm_item *item, struct buf *cmds)
{
	const char *be = item->pool, *srv = item->member->name;
	bool out = item->state != LBM_STATE_ENABLED;
	int ret = 0;

	if (has_agent(item) && out)
		ret = buf_printf(lb, cmds, "disable agent %s/%s\n", be, srv);
	if (ret == 0 && item->weight >= 0)
		ret = buf_printf(lb, cmds, "set server %s/%s weight %d\n", be, srv, item->weight);
	if (ret == 0)
		ret = buf_printf(lb, cmds, "set server %s/%s state %s\n", be, srv, state_words[item->state]);
	if (ret == 0 && has_agent(item) && !out)
		ret = buf_printf(lb, cmds, "enable agent %s/%s\n", be, srv);
	return ret;
}

static int item_error(struct lbm *lb, const struct lbm_item *item, char *block)
{
	char what[2 * LBM_NAME_MAX];

	snprintf(what, sizeof(what), "%s/%s", item->pool, item->member->name);
	return reply_error(lb, what, block);
}

/* The errors of one apply, over all its batches. */
struct tally {
	size_t failed;
	int first; /* its message is the handle's */
};

/* Walk the replies to items[from] to items[to - 1] in order; an item is
 * done when every line of it was answered with nothing. The first error is
 * reported; later items that HAProxy accepted are still marked done. */
static int mark_done(struct lbm *lb, struct lbm_item *items, size_t from, size_t to, size_t n, char *cursor, int ret,
		     struct tally *t)
{
	const struct haproxy *hp = lb->priv;

	for (size_t i = from; i < to; i++) {
		int lines = item_lines(&items[i]);
		bool ok = true;

		for (int l = 0; l < lines; l++) {
			char *block = next_block(hp, &cursor);

			if (!block) {
				if (t->first || ret < 0)
					return t->first ? t->first : ret;
				return lbm_driver_fail(lb, LBM_EPROTO,
						       "%s closed the connection after %zu of %zu changes", hp->where,
						       i, n);
			}
			if (*block && ok) {
				ok = false;
				if (!t->failed++)
					t->first = item_error(lb, &items[i], block);
			}
		}
		items[i].done = ok;
	}
	return t->first ? t->first : ret;
}

/* What the agents of the items changed do now, said once for all. */
static void tell_agents(struct lbm *lb, const struct lbm_item *items, size_t n)
{
	const struct lbm_item *first[2] = { NULL, NULL };
	size_t count[2] = { 0, 0 };

	for (size_t i = 0; i < n; i++) {
		bool out = items[i].state != LBM_STATE_ENABLED;

		if (items[i].done && has_agent(&items[i]) && !count[out]++)
			first[out] = &items[i];
	}
	if (first[1])
		lbm_warn(lb,
			 "%s/%s%s has an agent check: paused while it is out of rotation, or its agent would put it "
			 "back; enabling resumes it",
			 first[1]->pool, first[1]->member->name, count[1] > 1 ? " (and others)" : "");
	if (first[0])
		lbm_warn(lb, "%s/%s%s has an agent check: its agent can drain or disable it again", first[0]->pool,
			 first[0]->member->name, count[0] > 1 ? " (and others)" : "");
}

/* Commands per connection stay under this: HAProxy 3.2.0 stops answering a
 * connection after about 16 KB of commands (fixed in 3.3), and batches side
 * by side are applied by as many of HAProxy's threads at once. */
#define HAP_BATCH_MAX 8192

/* `show servers state` of every backend, as HAProxy reads it back with
 * load-server-state-from-file: the state file after a change. */
static int save_state(struct lbm *lb, const char *path)
{
	const struct haproxy *hp = lb->priv;
	struct buf cmds = { 0 }, reply = { 0 };
	char tmp[PATH_MAX + 16], *cursor, *block = NULL;
	int ret;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= sizeof(tmp))
		return lbm_driver_fail(lb, LBM_EINVAL, "state file path is longer than %zu bytes", sizeof(tmp) - 8);
	do {
		cmds.len = reply.len = 0;
		ret = buf_printf(lb, &cmds, "show servers state\n");
		if (ret == 0)
			ret = run(lb, &cmds, &reply, &cursor, 1);
	} while (ret == HAP_RETRY);
	if (ret == 0)
		block = next_block(hp, &cursor);
	if (ret == 0 && (!block || strncmp(block, "1\n# ", 4)))
		ret = lbm_driver_fail(lb, LBM_EPROTO, "unexpected reply to 'show servers state' from %s", hp->where);
	if (ret == 0)
		ret = lbm_file_replace(lb, path, tmp, block, strlen(block), 0644);
	free(cmds.data);
	free(reply.data);
	return ret;
}

static int haproxy_save_state(struct lbm *lb, const char *path)
{
	if (!path || *path != '/')
		return lbm_driver_fail(lb, LBM_EINVAL, "state file '%.64s' is not an absolute path", path ? path : "");
	return save_state(lb, path);
}

/* After a change: keep it across reloads, or say that a reload forgets it. */
static void persist(struct lbm *lb, const struct lbm_item *items, size_t n)
{
	const struct haproxy *hp = lb->priv;
	bool changed = false, out = false;

	for (size_t i = 0; i < n; i++) {
		changed |= items[i].done;
		out |= items[i].done && items[i].state != LBM_STATE_ENABLED;
	}
	if (!changed)
		return;
	if (*hp->state_file) {
		char errmsg[LBM_ERRMSG_MAX];

		memcpy(errmsg, lb->errmsg, sizeof(errmsg));
		if (save_state(lb, hp->state_file) < 0)
			lbm_warn(lb, "the change is made, but a reload will forget it: %s", lb->errmsg);
		memcpy(lb->errmsg, errmsg, sizeof(errmsg));
	} else if (out) {
		lbm_warn(lb, "HAProxy forgets this at its next reload: give the target ?state-file=PATH (option "
			     "state_file), and HAProxy 'server-state-file PATH' (global) with "
			     "'load-server-state-from-file global' (defaults)");
	}
}

struct batches {
	struct buf *cmds, *replies;
	char **cursors;
	size_t *first; /* first[b]: batch b's first item; first[n] is past the last */
	size_t n;
};

static void free_batches(struct batches *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free(b->cmds[i].data);
		free(b->replies[i].data);
	}
	free(b->cmds);
	free(b->replies);
	free(b->cursors);
	free(b->first);
	*b = (struct batches){ 0 };
}

/* Each run of commands below HAP_BATCH_MAX is a batch. */
static int build_batches(struct lbm *lb, const struct lbm_item *items, size_t n, struct batches *b)
{
	size_t max = 1;
	int ret = 0;

	for (size_t i = 0; i < n; i++)
		max += item_lines(&items[i]);
	/* A batch holds at least one line: never more batches than lines. */
	b->cmds = calloc(max, sizeof(*b->cmds));
	b->replies = calloc(max, sizeof(*b->replies));
	b->cursors = calloc(max, sizeof(*b->cursors));
	b->first = calloc(max + 1, sizeof(*b->first));
	if (!b->cmds || !b->replies || !b->cursors || !b->first)
		return lbm_fail(lb, LBM_ENOMEM, "out of memory");
	for (size_t i = 0; i < n && ret == 0; i++) {
		if (!b->n || b->cmds[b->n - 1].len >= HAP_BATCH_MAX)
			b->first[b->n++] = i;
		ret = build_apply(lb, &items[i], &b->cmds[b->n - 1]);
	}
	b->first[b->n] = n;
	return ret;
}

static int haproxy_apply(struct lbm *lb, struct lbm_item *items, size_t n)
{
	struct batches b = { 0 };
	struct tally t = { 0 };
	int ret = 0;

	for (size_t i = 0; i < n && ret == 0; i++)
		ret = haproxy_check(lb, &items[i]);
	while (ret == 0) {
		ret = build_batches(lb, items, n, &b);
		if (ret == 0)
			ret = run(lb, b.cmds, b.replies, b.cursors, b.n);
		if (ret != HAP_RETRY)
			break;
		free_batches(&b);
		ret = 0;
	}
	for (size_t i = 0; i < b.n; i++) {
		int done =
			b.cursors[i] ? mark_done(lb, items, b.first[i], b.first[i + 1], n, b.cursors[i], ret, &t) : ret;

		/* A refused item does not stop the rest; a lost connection does. */
		if (ret == 0 && done < 0 && !t.first)
			ret = done;
	}
	if (t.failed > 1) {
		size_t len = strlen(lb->errmsg);

		snprintf(lb->errmsg + len, sizeof(lb->errmsg) - len, " (and %zu more failed)", t.failed - 1);
	}
	if (ret == 0 && t.first)
		ret = t.first;
	tell_agents(lb, items, n);
	persist(lb, items, n);
	free_batches(&b);
	return ret;
}

/* force_after: HAProxy closes the member's sessions at once. */
static int haproxy_cut(struct lbm *lb, const char *pool, const struct lbm_member *m)
{
	const struct haproxy *hp = lb->priv;
	struct buf cmds = { 0 }, reply = { 0 };
	char what[2 * LBM_NAME_MAX], *cursor, *block = NULL;
	int ret;

	do {
		cmds.len = reply.len = 0;
		ret = buf_printf(lb, &cmds, "shutdown sessions server %s/%s\n", pool, m->name);
		if (ret == 0)
			ret = run(lb, &cmds, &reply, &cursor, 1);
	} while (ret == HAP_RETRY);
	if (ret == 0 && !(block = next_block(hp, &cursor)))
		ret = lbm_driver_fail(lb, LBM_EPROTO, "%s closed the connection before answering", hp->where);
	snprintf(what, sizeof(what), "%s/%s", pool, m->name);
	if (ret == 0 && *block)
		ret = reply_error(lb, what, block);
	free(cmds.data);
	free(reply.data);
	return ret;
}

static const struct lbm_option_def haproxy_options[] = {
	{ { .name = "state_file",
	    .type = LBM_OPTION_PATH,
	    .value = "FILE",
	    .help = "After every change, write HAProxy's server state to FILE (atomically), for "
		    "'load-server-state-from-file' to keep it across reloads; the target may say "
		    "?state-file=FILE instead.",
	    .change_only = 1 },
	  LBM_OPTION_AT(state_file) },
	{ { 0 }, 0 },
};

const struct lbm_driver lbm_driver_haproxy = {
	.info = {
		.scheme = "haproxy",
		.name = "HAProxy",
		.usage = "haproxy:///PATH/SOCKET[?state-file=FILE], haproxy://IP:PORT[?state-file=FILE]",
		.summary = "one HAProxy, through a 'stats socket' at level admin or the master CLI (-S): "
			   "the master CLI also counts the connections old workers hold after a reload",
		.naming = "pool: a backend; member: a server name, or its ADDR[:PORT]",
	},
	.options = haproxy_options,
	.open = haproxy_open,
	.close = haproxy_close,
	.list = haproxy_list,
	.apply = haproxy_apply,
	.save_state = haproxy_save_state,
	.pool_name = haproxy_pool_name,
	.check = haproxy_check,
	.cut = haproxy_cut,
};
