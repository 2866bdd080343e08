// SPDX-License-Identifier: MIT
/* core/keepalived.c against the configurations in tests/unit/keepalived/
 * (argv[1]), written from keepalived.conf(5) and keepalived 2.2.7's parser,
 * and against files made here that keepalived would not read. */
#define _GNU_SOURCE
#include "../lib/check.h"
#include "keepalived.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *fixtures;

static const char *path(const char *name)
{
	static char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s/%s", fixtures, name);
	return buf;
}

static int family(const char *addr)
{
	return strchr(addr, ':') ? AF_INET6 : AF_INET;
}

/* The real server rip:rport of the service proto vip:vport (fwmark when
 * vip is NULL: family from rip) in conf. */
static int look(const char *conf, unsigned proto, const char *vip, unsigned vport, unsigned fwmark, const char *rip,
		unsigned rport, struct lbm_ka_real *out)
{
	struct lbm_ka_service svc = { .af = family(rip), .protocol = proto, .port = vport, .fwmark = fwmark };
	unsigned char raddr[16] = { 0 };
	char err[512] = "";
	int ret;

	if (vip) {
		svc.af = family(vip);
		inet_pton(svc.af, vip, svc.addr);
	}
	inet_pton(family(rip), rip, raddr);
	ret = lbm_ka_lookup(path(conf), &svc, family(rip), raddr, rport, out, err, sizeof(err));
	if (ret)
		fprintf(stderr, "lookup in %s: %s\n", conf, err);
	return ret;
}

static struct lbm_ka_real rs(const char *conf, const char *vip, unsigned vport, const char *rip, unsigned rport)
{
	struct lbm_ka_real r;

	CHECK_SAID(look(conf, IPPROTO_TCP, vip, vport, 0, rip, rport, &r) == 0, "%s %s:%u %s:%u", conf, vip, vport, rip,
		   rport);
	return r;
}

static bool at(const struct lbm_ka_real *r, const char *conf, unsigned line)
{
	size_t n = strlen(r->conf), m = strlen(conf);

	return r->line == line && n >= m && !strcmp(r->conf + n - m, conf);
}

static void test_drain(void)
{
	struct lbm_ka_real r = rs("drain.conf", "192.0.2.10", 80, "192.0.2.84", 80);

	CHECK(r.service && r.managed && r.checked && !r.inhibit);
	CHECK(r.weight == 100);
	CHECK(!strcmp(r.track_file, "drain_84"));
	CHECK(!strcmp(r.track_path, "/etc/keepalived/drain/84"));
	CHECK(r.track_weight == -65535);
	CHECK_SAID(at(&r, "drain.conf", 32), "%s:%u", r.conf, r.line);

	/* One line: a checker (drain_84 with its own weight, 1), no drain. */
	r = rs("drain.conf", "192.0.2.10", 80, "192.0.2.85", 80);
	CHECK(r.managed && r.checked && r.weight == 100);
	CHECK(!r.track_file[0] && !r.track_path[0] && !r.track_weight);

	r = rs("drain.conf", "192.0.2.10", 80, "192.0.2.86", 80);
	CHECK(r.managed && r.checked && r.weight == 5 && !r.track_file[0]);

	r = rs("drain.conf", "192.0.2.10", 80, "192.0.2.87", 80);
	CHECK(!strcmp(r.track_file, "weak") && !strcmp(r.track_path, "/run/lbm-test/weak") && r.track_weight == -5);

	r = rs("drain.conf", "192.0.2.10", 80, "192.0.2.88", 80);
	CHECK(!strcmp(r.track_file, "drain_84") && r.track_weight == -20);

	r = rs("drain.conf", "192.0.2.10", 80, "192.0.2.89", 80);
	CHECK(r.managed && !r.checked && !r.track_file[0] && r.weight == 1);

	r = rs("drain.conf", "192.0.2.10", 80, "192.0.2.90", 80);
	CHECK(r.checked && !strcmp(r.track_file, "drain_84") && r.track_weight == -3);

	r = rs("drain.conf", "192.0.2.10", 80, "192.0.2.91", 80);
	CHECK(r.inhibit && !strcmp(r.track_file, "drain_84") && r.track_weight == 0);
	r = rs("drain.conf", "192.0.2.10", 80, "192.0.2.92", 80);
	CHECK(r.checked && !r.inhibit && !r.track_file[0]);
}

static void test_checkers(void)
{
	struct lbm_ka_real r = rs("checkers.conf", "198.51.100.10", 443, "198.51.100.11", 443);

	CHECK(r.managed && r.checked && !r.inhibit && r.weight == 1);
	r = rs("checkers.conf", "198.51.100.10", 443, "198.51.100.12", 443);
	CHECK(r.managed && r.checked && r.weight == 20);
	r = rs("checkers.conf", "198.51.100.10", 443, "198.51.100.13", 443);
	CHECK(r.managed && !r.checked);
	r = rs("checkers.conf", "198.51.100.10", 443, "198.51.100.14", 443);
	CHECK(r.managed && r.checked && r.inhibit);
	r = rs("checkers.conf", "198.51.100.10", 443, "198.51.100.15", 443);
	CHECK(r.managed && !r.checked);
	r = rs("checkers.conf", "198.51.100.10", 443, "198.51.100.16", 443);
	CHECK(r.managed && !r.checked && r.weight == 0);

	r = rs("checkers.conf", "198.51.100.20", 443, "198.51.100.21", 443);
	CHECK(r.managed && r.checked && r.inhibit && r.weight == 7);
	r = rs("checkers.conf", "198.51.100.20", 443, "198.51.100.22", 443);
	CHECK(r.managed && r.checked && !r.inhibit && r.weight == 7);
}

static void test_services(void)
{
	struct lbm_ka_real r;

	CHECK(look("services.conf", IPPROTO_UDP, "192.0.2.40", 53, 0, "192.0.2.41", 53, &r) == 0 && r.managed);
	CHECK(look("services.conf", IPPROTO_TCP, "192.0.2.40", 53, 0, "192.0.2.41", 53, &r) == 0 && !r.service);

	r = rs("services.conf", "192.0.2.50", 80, "192.0.2.51", 80);
	CHECK(r.managed);
	r = rs("services.conf", "192.0.2.50", 80, "192.0.2.51", 8080);
	CHECK(r.service && !r.managed);
	CHECK_SAID(at(&r, "services.conf", 9), "%s:%u", r.conf, r.line);
	r = rs("services.conf", "192.0.2.50", 80, "192.0.2.52", 8080);
	CHECK(r.managed);
	r = rs("services.conf", "192.0.2.50", 80, "192.0.2.53", 0);
	CHECK(r.managed);
	r = rs("services.conf", "192.0.2.50", 80, "2001:db8::54", 80);
	CHECK(r.service && !r.managed);
	r = rs("services.conf", "192.0.2.50", 80, "192.0.2.55", 80);
	CHECK(r.managed && r.weight == 1);
	CHECK_SAID(at(&r, "services.conf", 26), "%s:%u", r.conf, r.line);
	r = rs("services.conf", "192.0.2.50", 81, "192.0.2.51", 81);
	CHECK(!r.service && !r.managed && !r.conf[0]);

	r = rs("services.conf", "2001:db8::1", 443, "2001:db8::10", 443);
	CHECK(r.managed && r.checked && r.weight == 3);
	r = rs("services.conf", "2001:db8::1", 443, "2001:db8::11", 443);
	CHECK(r.service && !r.managed);
	r = rs("services.conf", "2001:db8::1", 443, "2001:db8::12", 443);
	CHECK(r.managed && r.weight == 5);

	r = rs("services.conf", "192.0.2.60", 0, "192.0.2.61", 0);
	CHECK(r.managed);

	/* fwmark: DR gives IPVS port 0; the family is the real servers'. */
	CHECK(look("services.conf", 0, NULL, 0, 7, "198.51.100.7", 0, &r) == 0 && r.managed && r.weight == 8);
	CHECK(look("services.conf", 0, NULL, 0, 7, "198.51.100.7", 80, &r) == 0 && r.service && !r.managed);
	CHECK(look("services.conf", 0, NULL, 0, 7, "2001:db8::7", 0, &r) == 0 && !r.service);
	CHECK(look("services.conf", 0, NULL, 0, 8, "2001:db8::8", 80, &r) == 0 && r.managed && r.checked);

	r = rs("services.conf", "192.0.2.70", 80, "192.0.2.70", 80);
	CHECK(!r.service);
	r = rs("services.conf", "192.0.2.99", 80, "192.0.2.71", 80);
	CHECK(!r.service);
}

static void test_groups(void)
{
	struct lbm_ka_real r = rs("groups.conf", "192.0.2.5", 80, "198.51.100.30", 80);

	CHECK(r.managed && r.checked);
	CHECK_SAID(at(&r, "groups.conf", 5), "%s:%u", r.conf, r.line);
	r = rs("groups.conf", "192.0.2.10", 80, "198.51.100.30", 80);
	CHECK(r.managed);
	r = rs("groups.conf", "192.0.2.11", 80, "198.51.100.30", 80);
	CHECK(!r.service);
	r = rs("groups.conf", "192.0.2.5", 81, "198.51.100.30", 81);
	CHECK(!r.service);
	r = rs("groups.conf", "192.0.2.39", 80, "198.51.100.30", 80);
	CHECK(r.managed);
	r = rs("groups.conf", "192.0.2.40", 80, "198.51.100.30", 80);
	CHECK(!r.service);
	r = rs("groups.conf", "198.51.100.251", 80, "198.51.100.30", 80);
	CHECK(r.managed);
	r = rs("groups.conf", "192.0.2.5", 80, "198.51.100.31", 80);
	CHECK(r.service && !r.managed);
	CHECK(look("groups.conf", IPPROTO_UDP, "192.0.2.5", 80, 0, "198.51.100.30", 80, &r) == 0 && !r.service);

	CHECK(look("groups.conf", 0, NULL, 0, 101, "198.51.100.40", 8080, &r) == 0 && r.managed && !r.checked);
	CHECK(look("groups.conf", 0, NULL, 0, 102, "198.51.100.40", 8080, &r) == 0 && !r.service);

	r = rs("groups.conf", "2001:db8::1:a", 443, "2001:db8::40", 443);
	CHECK(r.managed);
	r = rs("groups.conf", "2001:db8::1:10", 443, "2001:db8::40", 443);
	CHECK(!r.service);
}

static void test_includes(void)
{
	struct lbm_ka_real r = rs("inc/main.conf", "198.51.100.1", 80, "198.51.100.101", 80);

	CHECK(r.managed && r.checked && r.weight == 50);
	CHECK(!strcmp(r.track_file, "t_a") && r.track_weight == -100);
	CHECK_SAID(at(&r, "inc/conf.d/../rs.d/web1.rs", 1), "%s:%u", r.conf, r.line);
	r = rs("inc/main.conf", "198.51.100.1", 80, "198.51.100.102", 80);
	CHECK(r.managed && r.checked && !r.track_file[0]);
	r = rs("inc/main.conf", "198.51.100.2", 80, "198.51.100.3", 80);
	CHECK(!r.service);
	r = rs("inc/main.conf", "198.51.100.4", 80, "198.51.100.5", 80);
	CHECK(r.managed);
	CHECK_SAID(at(&r, "inc/loop.conf", 8), "%s:%u", r.conf, r.line);
	/* Read after a loop: the loop did not use up the files. */
	r = rs("inc/fan-main.conf", "198.51.100.6", 80, "198.51.100.7", 80);
	CHECK(r.managed);
}

static void test_syntax(void)
{
	struct lbm_ka_real r = rs("syntax.conf", "192.0.2.20", 80, "192.0.2.21", 80);

	CHECK(r.managed && r.weight == 7 && !r.checked);
	r = rs("syntax.conf", "192.0.2.20", 80, "192.0.2.22", 80);
	CHECK(r.managed && r.weight == 8 && r.checked);
	r = rs("syntax.conf", "192.0.2.20", 80, "192.0.2.29", 80);
	CHECK(r.service && !r.managed);
	r = rs("syntax.conf", "192.0.2.30", 8080, "192.0.2.31", 80);
	CHECK(r.managed && r.weight == 60);
	r = rs("syntax.conf", "192.0.2.30", 8081, "192.0.2.33", 80);
	CHECK(r.managed && r.weight == 4 && r.checked);
	r = rs("syntax.conf", "192.0.2.34", 80, "192.0.2.35", 80);
	CHECK(r.managed);
}

/* Each as keepalived -t said it reads them (edge.conf). */
static void test_edge(void)
{
	struct lbm_ka_real r = rs("edge.conf", "192.0.2.100", 80, "192.0.2.101", 80);

	CHECK(r.managed && r.checked && !r.inhibit && r.weight == 5 && !r.track_file[0]);
	r = rs("edge.conf", "192.0.2.100", 80, "192.0.2.102", 80);
	CHECK(r.managed && r.weight == 3);
	CHECK(!strcmp(r.track_file, "t2") && !strcmp(r.track_path, "/run/lbm-test/t2") && r.track_weight == -3);
	r = rs("edge.conf", "192.0.2.100", 80, "192.0.2.107", 80);
	CHECK(r.managed && r.checked && r.inhibit && r.weight == 1 && !r.track_file[0]);
	r = rs("edge.conf", "192.0.2.100", 80, "192.0.2.106", 80);
	CHECK(r.managed && r.weight == 77);
	r = rs("edge.conf", "192.0.2.100", 80, "192.0.2.104", 80);
	CHECK(r.managed && !r.checked);
	r = rs("edge.conf", "192.0.2.100", 80, "192.0.2.105", 80);
	CHECK(r.managed);
	r = rs("edge.conf", "192.0.2.100", 80, "192.0.2.103", 80);
	CHECK(r.managed && r.weight == 1);
	CHECK_SAID(at(&r, "edge.conf", 60), "%s:%u", r.conf, r.line);
}

/* Files keepalived does not read, made in a directory of our own. */
static void test_unreadable(void)
{
	const char *tmp = getenv("TMPDIR");
	char dir[PATH_MAX - 32], file[PATH_MAX], fifo[PATH_MAX], err[512];
	struct lbm_ka_service svc = { .af = AF_INET, .protocol = IPPROTO_TCP, .port = 80 };
	unsigned char raddr[4];
	struct lbm_ka_real r;
	FILE *f;

	inet_pton(AF_INET, "192.0.2.1", svc.addr);
	inet_pton(AF_INET, "192.0.2.2", raddr);
	CHECK(lbm_ka_lookup(path("nonexistent.conf"), &svc, AF_INET, raddr, 80, &r, err, sizeof(err)) == -1);
	CHECK_SAID(strstr(err, "cannot read keepalived configuration ") == err, "%s", err);
	CHECK_SAID(strstr(err, "nonexistent.conf: No such file or directory"), "%s", err);
	CHECK(!r.service && !r.managed);
	CHECK(lbm_ka_lookup(fixtures, &svc, AF_INET, raddr, 80, &r, err, sizeof(err)) == -1);
	CHECK_SAID(strstr(err, "Is a directory"), "%s", err);

	snprintf(dir, sizeof(dir), "%s/lbm-ka-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		CHECK_SAID(false, "mkdtemp: %s", strerror(errno));
		return;
	}
	/* An include of a FIFO is skipped, not waited on; an executable file
	 * is no configuration to keepalived. */
	snprintf(fifo, sizeof(fifo), "%s/fifo.conf", dir);
	snprintf(file, sizeof(file), "%s/keepalived.conf", dir);
	CHECK(mkfifo(fifo, 0600) == 0);
	f = fopen(file, "w");
	CHECK(f != NULL);
	if (f) {
		fputs("include fifo.conf\nvirtual_server 192.0.2.1 80 {\nprotocol TCP\nreal_server 192.0.2.2 80\n", f);
		fclose(f);
	}
	CHECK(lbm_ka_lookup(file, &svc, AF_INET, raddr, 80, &r, err, sizeof(err)) == 0);
	CHECK(r.managed && !r.checked && r.line == 4);
	CHECK(chmod(file, 0700) == 0);
	CHECK(lbm_ka_lookup(file, &svc, AF_INET, raddr, 80, &r, err, sizeof(err)) == -1);
	CHECK_SAID(strstr(err, "executable"), "%s", err);
	unlink(file);
	unlink(fifo);
	rmdir(dir);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s FIXTURES_DIR\n", argv[0]);
		return 2;
	}
	fixtures = argv[1];
	test_drain();
	test_checkers();
	test_services();
	test_groups();
	test_includes();
	test_syntax();
	test_edge();
	test_unreadable();
	return check_done();
}
