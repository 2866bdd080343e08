// SPDX-License-Identifier: MIT
/* HAProxy over its runtime API (the "stats socket"), on a unix socket or TCP.
 *
 * Every exchange is one connection in interactive mode: "prompt", one command
 * per line, "quit". HAProxy then ends each command's output with "\n> ", so
 * the replies can be told apart and a bulk change of thousands of servers is
 * one connection. The whole exchange is bounded by one deadline. */
#define _POSIX_C_SOURCE 200809L

#include "driver.h"

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
/* srv_check_state and srv_agent_state: CHK_ST_CONFIGURED */
#define CHK_CONFIGURED 0x02

struct haproxy {
	int family;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char where[LBM_NAME_MAX]; /* the socket path or HOST:PORT, for messages */
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

static int haproxy_open(struct lbm *lb, const char *location, const struct lbm_options *opt)
{
	struct haproxy *hp;

	(void)opt;
	lb->priv = hp = calloc(1, sizeof(*hp));
	if (!hp)
		return lbm_fail(lb, LBM_ENOMEM, "out of memory");
	lb->follows_across_pools = true; /* "track B/S" may name any backend */
	if (!*location)
		return lbm_driver_fail(lb, LBM_EINVAL,
				       "no runtime API socket given: expected haproxy:///path/to/admin.sock or "
				       "haproxy://IP:PORT");
	if (*location == '/')
		return open_unix(lb, hp, location);
	return open_tcp(lb, hp, location);
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
	if (connect(fd, (const struct sockaddr *)&hp->addr, hp->addrlen) == 0)
		return fd;
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

/* Up to this many connections at once: a listing's two commands. */
#define HAP_PARALLEL 2

/* Send each request on its own connection while reading its reply (HAProxy
 * answers as it reads, so a large request must not wait for the whole of it
 * to be sent) until HAProxy closes each connection. The connections run
 * side by side: a multi-threaded HAProxy (nbthread defaults to the number
 * of CPUs) serves them at the same time. Whatever arrived is in replies,
 * also on failure. */
static int exchange(struct lbm *lb, const struct buf *reqs, struct buf *replies, size_t n)
{
	const struct haproxy *hp = lb->priv;
	double deadline = lbm_now() + lb->timeout_s;
	struct pollfd pfd[HAP_PARALLEL];
	size_t sent[HAP_PARALLEL] = { 0 }, open = 0;
	int ret = 0;

	for (size_t i = 0; i < n; i++)
		pfd[i].fd = -1;
	for (size_t i = 0; i < n && ret == 0; i++) {
		pfd[i].fd = hap_connect(lb, hp, deadline);
		if (pfd[i].fd < 0)
			ret = pfd[i].fd;
		else if ((ret = buf_add(lb, &replies[i], "", 0)) == 0)
			open++;
	}
	while (ret == 0 && open) {
		int ready;

		for (size_t i = 0; i < n; i++)
			pfd[i].events = pfd[i].fd < 0 ? 0 : (short)(POLLIN | (sent[i] < reqs[i].len ? POLLOUT : 0));
		ready = poll_many(pfd, n, deadline);
		if (ready == 0)
			ret = lbm_driver_fail(lb, LBM_ETIMEDOUT,
					      "%s did not answer within %g s "
					      "(a hung HAProxy, or not a runtime API socket?)",
					      hp->where, lb->timeout_s);
		else if (ready < 0)
			ret = lbm_driver_fail(lb, LBM_EIO, "poll: %s", strerror(-ready));
		for (size_t i = 0; i < n && ret == 0; i++) {
			bool eof = false;

			if (pfd[i].fd < 0)
				continue;
			if ((pfd[i].revents & POLLOUT) && sent[i] < reqs[i].len) {
				ssize_t got = send(pfd[i].fd, reqs[i].data + sent[i], reqs[i].len - sent[i],
						   MSG_DONTWAIT | MSG_NOSIGNAL);

				if (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
					/* HAProxy may close early (e.g. a line it refused): read what it said. */
					sent[i] = reqs[i].len;
				else if (got > 0)
					sent[i] += (size_t)got;
			}
			if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
				ret = recv_some(lb, hp, pfd[i].fd, &replies[i], &eof);
			if (ret == 0 && eof) {
				close(pfd[i].fd);
				pfd[i].fd = -1;
				open--;
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		if (pfd[i].fd >= 0)
			close(pfd[i].fd);
	return ret;
}

/* The next command's output in an interactive-mode reply, NUL-terminated in
 * place, or NULL when the reply ends before that output is complete. */
static char *next_block(char **cursor)
{
	char *block = *cursor, *end;

	if (!block)
		return NULL;
	end = strstr(block, HAP_PROMPT);
	if (!end)
		return NULL;
	*end = '\0';
	*cursor = end + strlen(HAP_PROMPT);
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

/* Send "prompt", the commands, "quit" on one connection per cmds[i];
 * return each reply, positioned after the prompt command's own (empty)
 * output. */
static int run(struct lbm *lb, const struct buf *cmds, struct buf *replies, char **cursors, size_t n)
{
	const struct haproxy *hp = lb->priv;
	struct buf reqs[HAP_PARALLEL] = { 0 };
	char ex[64];
	int ret = 0;

	for (size_t i = 0; i < n && ret == 0; i++) {
		ret = buf_add(lb, &reqs[i], "prompt\n", 7);
		if (ret == 0)
			ret = buf_add(lb, &reqs[i], cmds[i].data, cmds[i].len);
		if (ret == 0)
			ret = buf_add(lb, &reqs[i], "quit\n", 5);
	}
	if (ret == 0)
		ret = exchange(lb, reqs, replies, n);
	for (size_t i = 0; i < n; i++) {
		free(reqs[i].data);
		cursors[i] = replies[i].data;
		if (replies[i].data && next_block(&cursors[i]))
			continue;
		cursors[i] = NULL;
		if (ret == 0 && replies[i].data && !strncmp(replies[i].data, "master> ", 8))
			ret = lbm_driver_fail(lb, LBM_EPROTO,
					      "%s is HAProxy's master CLI: give the 'stats socket' of the worker "
					      "instead",
					      hp->where);
		if (ret == 0)
			ret = lbm_driver_fail(lb, LBM_EPROTO,
					      "%s does not answer like an HAProxy runtime API (got '%s'): expected a "
					      "'stats socket'",
					      hp->where,
					      excerpt(replies[i].data ? replies[i].data : "", ex, sizeof(ex)));
	}
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
		st->rows[st->n++] = (struct stat_row){ f[pos[T_PX]], f[pos[T_SV]], f[pos[T_SCUR]], f[pos[T_STATUS]],
						       f[pos[T_TRACKED]] };
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
static const char *status_of(struct lbm_listing *l, const char *status, long admin, bool agent)
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
	if (agent)
		append(text, sizeof(text), AGENT_NOTE);
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
	m->status = status_of(l, st->status, admin, agent & CHK_CONFIGURED);
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

/* Every backend, or the n named ones: `show servers state` for the state
 * on one connection, `show stat` (type 4: servers only) for what it shows
 * on another, side by side. */
static int haproxy_list(struct lbm *lb, const char *const *names, size_t n, struct lbm_listing *out)
{
	enum {
		STATE,
		STAT
	};
	struct buf cmds[2] = { 0 }, replies[2] = { 0 };
	struct stats st = { 0 };
	char *cursors[2], **blocks = NULL;
	size_t nblocks = names ? n : 1;
	int ret = 0;

	for (size_t i = 0; names && i < n && ret == 0; i++) {
		/* The core checked them already; this guards the command line itself. */
		if (!valid_name(names[i]))
			ret = name_error(lb, names[i]);
		else if ((ret = buf_printf(lb, &cmds[STATE], "show servers state %s\n", names[i])) == 0)
			ret = buf_printf(lb, &cmds[STAT], "show stat %s 4 -1\n", names[i]);
	}
	if (!names && (ret = buf_printf(lb, &cmds[STATE], "show servers state\n")) == 0)
		ret = buf_printf(lb, &cmds[STAT], "show stat -1 4 -1\n");
	if (ret == 0 && !(blocks = calloc(2 * nblocks, sizeof(*blocks))))
		ret = lbm_fail(lb, LBM_ENOMEM, "out of memory");
	if (ret < 0 || (ret = run(lb, cmds, replies, cursors, 2)) < 0)
		goto out;
	for (size_t i = 0; i < nblocks; i++) {
		blocks[2 * i] = next_block(&cursors[STATE]);
		blocks[2 * i + 1] = next_block(&cursors[STAT]);
	}
	/* Every stat reply first: the state rows are matched against them all. */
	for (size_t i = 0; i < nblocks && ret == 0; i++) {
		ret = check_replies(lb, names ? names[i] : NULL, blocks[2 * i], blocks[2 * i + 1]);
		if (ret == 0)
			ret = parse_stat(lb, blocks[2 * i + 1], &st);
	}
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

/* Each item is one or two lines: the weight first, so that a server coming
 * back takes its new weight from its first connection. */
static int build_apply(struct lbm *lb, const struct lbm_item *items, size_t n, struct buf *cmds)
{
	int ret = 0;

	for (size_t i = 0; i < n && ret == 0; i++) {
		const char *be = items[i].pool, *srv = items[i].member->name;

		if (items[i].weight >= 0)
			ret = buf_printf(lb, cmds, "set server %s/%s weight %d\n", be, srv, items[i].weight);
		if (ret == 0)
			ret = buf_printf(lb, cmds, "set server %s/%s state %s\n", be, srv, state_words[items[i].state]);
	}
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
		int lines = items[i].weight >= 0 ? 2 : 1;
		bool ok = true;

		for (int l = 0; l < lines; l++) {
			char *block = next_block(&cursor);

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

/* The agent's next report can undo an enable that HAProxy accepted. */
static void warn_agents(struct lbm *lb, const struct lbm_item *items, size_t n)
{
	const struct lbm_item *first = NULL;
	size_t count = 0;

	for (size_t i = 0; i < n; i++)
		if (items[i].state == LBM_STATE_ENABLED && (items[i].member->flags & LBM_MEMBER_AGENT) && !count++)
			first = &items[i];
	if (first)
		lbm_warn(lb, "%s/%s%s has an agent check: its agent can drain or disable it again", first->pool,
			 first->member->name, count > 1 ? " (and others)" : "");
}

/* Commands per connection stay under this: HAProxy 3.2.0 stops answering a
 * connection after about 16 KB of commands (fixed in 3.3), and batches side
 * by side are applied by as many of HAProxy's threads at once. */
#define HAP_BATCH_MAX 8192

static int haproxy_apply(struct lbm *lb, struct lbm_item *items, size_t n)
{
	struct buf cmds[HAP_PARALLEL] = { 0 }, replies[HAP_PARALLEL] = { 0 };
	size_t first[HAP_PARALLEL + 1], next = 0;
	struct tally t = { 0 };
	int ret = 0;

	for (size_t i = 0; i < n && ret == 0; i++)
		ret = haproxy_check(lb, &items[i]);
	while (ret == 0 && next < n) {
		char *cursors[HAP_PARALLEL];
		size_t k = 0;

		for (; k < HAP_PARALLEL && next < n && ret == 0; k++) {
			cmds[k].len = 0;
			replies[k].len = 0;
			first[k] = next;
			while (next < n && ret == 0 && (next == first[k] || cmds[k].len < HAP_BATCH_MAX))
				ret = build_apply(lb, &items[next++], 1, &cmds[k]);
		}
		first[k] = next;
		if (ret < 0)
			break;
		ret = run(lb, cmds, replies, cursors, k);
		for (size_t b = 0; b < k; b++) {
			int done =
				cursors[b] ? mark_done(lb, items, first[b], first[b + 1], n, cursors[b], ret, &t) : ret;

			/* A refused item does not stop the rest; a lost connection does. */
			if (ret == 0 && done < 0 && !t.first)
				ret = done;
		}
	}
	if (t.failed > 1) {
		size_t len = strlen(lb->errmsg);

		snprintf(lb->errmsg + len, sizeof(lb->errmsg) - len, " (and %zu more failed)", t.failed - 1);
	}
	if (ret == 0 && t.first)
		ret = t.first;
	if (ret == 0)
		warn_agents(lb, items, n);
	for (size_t b = 0; b < HAP_PARALLEL; b++) {
		free(cmds[b].data);
		free(replies[b].data);
	}
	return ret;
}

const struct lbm_driver lbm_driver_haproxy = {
	.info = {
		.scheme = "haproxy",
		.name = "HAProxy",
		.usage = "haproxy:///PATH/admin.sock, haproxy://IP:PORT",
		.summary = "one HAProxy process, through its runtime API socket at level admin",
		.naming = "pool: a backend; member: a server name, or its ADDR[:PORT]",
	},
	.open = haproxy_open,
	.close = haproxy_close,
	.list = haproxy_list,
	.apply = haproxy_apply,
	.pool_name = haproxy_pool_name,
	.check = haproxy_check,
};
