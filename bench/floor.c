// SPDX-License-Identifier: MIT
/* The floor of the bulk HAProxy comparison: stdin, as is, to one runtime API
 * connection (a unix socket path or IP:PORT), the whole reply to stdout. No
 * parsing, no read-back: what any tool sending the same commands must pay. */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static char *slurp(size_t *len)
{
	size_t cap = 1 << 16;
	char *buf = malloc(cap);
	ssize_t got;

	*len = 0;
	while (buf && (got = read(0, buf + *len, cap - *len)) > 0) {
		*len += (size_t)got;
		if (*len == cap)
			buf = realloc(buf, cap *= 2);
	}
	return buf;
}

static int connect_to(const char *where)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct sockaddr_in sin = { .sin_family = AF_INET };
	char host[64];
	const char *colon = strrchr(where, ':');
	int fd;

	if (*where == '/') {
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", where);
		return fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) ? -1 : fd;
	}
	if (!colon || (size_t)(colon - where) >= sizeof(host))
		return -1;
	memcpy(host, where, (size_t)(colon - where));
	host[colon - where] = '\0';
	sin.sin_port = htons((unsigned short)atoi(colon + 1));
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || inet_pton(AF_INET, host, &sin.sin_addr) != 1 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)))
		return -1;
	return fd;
}

int main(int argc, char **argv)
{
	size_t len, sent = 0;
	char *req, chunk[65536];
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: floor SOCKET_PATH|IP:PORT < commands\n");
		return 2;
	}
	req = slurp(&len);
	fd = connect_to(argv[1]);
	if (!req || fd < 0) {
		perror("floor");
		return 1;
	}
	/* Read while writing: HAProxy answers as it reads. */
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN | (sent < len ? POLLOUT : 0) };
		ssize_t n;

		if (poll(&pfd, 1, 10000) <= 0)
			return 1;
		if ((pfd.revents & POLLOUT) && sent < len) {
			n = write(fd, req + sent, len - sent);
			if (n < 0)
				return 1;
			sent += (size_t)n;
		}
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
			n = read(fd, chunk, sizeof(chunk));
			if (n <= 0)
				break;
			if (fwrite(chunk, 1, (size_t)n, stdout) != (size_t)n)
				return 1;
		}
	}
	free(req);
	close(fd);
	return 0;
}
