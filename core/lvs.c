// SPDX-License-Identifier: MIT
/* LVS: the kernel's IPVS table over generic netlink (family "IPVS", layout in
 * <linux/ip_vs.h>). One socket per handle; the kernel's own errno from each
 * nlmsgerr is kept (libnl would turn ESRCH and ENOENT both into
 * NLE_OBJ_NOTFOUND); every receive is bounded by SO_RCVTIMEO.
 *
 * draining = weight 0, disabled = destination removed, enabled = what was
 * there before. What the kernel forgets (a drained destination's weight, a
 * removed one's whole definition) is recorded in the state store before the
 * change and dropped after a successful enable. A record is trusted only
 * while the destination is out of rotation (weight 0 or absent): a positive
 * weight in the kernel means someone enabled it since, and the record is
 * stale. */
#define _GNU_SOURCE

#include "driver.h"
#include "keepalived.h"
#include "statestore.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <linux/ip_vs.h>
#include <netinet/in.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define EXPIRE_QUIESCENT "/proc/sys/net/ipv4/vs/expire_quiescent_template"

/* A program that owns the table and re-asserts its own configuration,
 * found in the handle's network namespace when it was opened. */
struct owner {
	pid_t keepalived;    /* 0: none */
	char conf[PATH_MAX]; /* its configuration (-f) */
	pid_t ldirectord;    /* 0: none; its configuration is not read: a warning */
};

struct lvs {
	struct nl_sock *sk;
	int family;
	int quiescent_fd; /* the sysctl, opened in the handle's netns */
	struct lbm_store store;
	struct owner owner;
	bool ignore_owner;
	struct stale *stale; /* found by the last listing: see note_stale() */
	size_t n_stale;
};

/* A virtual service: its key (af + fwmark, or af + protocol + addr + port)
 * and what ipvsadm -Ln shows about it. */
struct svc {
	int af;
	unsigned protocol;
	unsigned char addr[16];
	unsigned port;
	unsigned fwmark;
	char sched[IP_VS_SCHEDNAME_MAXLEN];
	char pe[IP_VS_PENAME_MAXLEN];
	unsigned flags, timeout, netmask;
	char name[INET6_ADDRSTRLEN + 24]; /* "proto255:[ADDR]:65535" */
};

/* A real server: everything IPVS_CMD_NEW_DEST needs to recreate it. */
struct dest {
	int af;
	unsigned char addr[16];
	unsigned port;
	unsigned fwd, weight, u_thresh, l_thresh;
	bool has_tun;
	unsigned tun_type, tun_port, tun_flags;
	long active, inactive;
	char address[INET6_ADDRSTRLEN];
	char name[INET6_ADDRSTRLEN + 8]; /* "[ADDR]:65535" */
};

struct dests {
	struct dest *v;
	size_t n;
};

/* A record of a real server that IPVS shows back in rotation. */
struct stale {
	struct svc svc;
	struct dest rec;
};

static struct lvs *priv(struct lbm *lb)
{
	return lb->priv;
}

/* ---- names ---- */

static void addr_text(int af, const unsigned char *addr, char *out, size_t outsz)
{
	/* glibc's inet_ntop() formats IPv4 with sprintf(): a fifth of listing
	 * 10,000 destinations. */
	if (af == AF_INET && outsz >= INET_ADDRSTRLEN) {
		for (int i = 0; i < 4; i++) {
			unsigned v = addr[i];

			if (v >= 100)
				*out++ = (char)('0' + v / 100);
			if (v >= 10)
				*out++ = (char)('0' + v / 10 % 10);
			*out++ = (char)('0' + v % 10);
			*out++ = i < 3 ? '.' : '\0';
		}
		return;
	}
	if (!inet_ntop(af, addr, out, (socklen_t)outsz))
		lbm_copy(out, outsz, "?");
}

/* The address as text, and "ADDR:PORT" or "[ADDR]:PORT": without
 * snprintf(), which was a tenth of listing 10,000 destinations. */
static void dest_name(struct dest *d)
{
	char port[8], *digits = port + sizeof(port) - 1, *out = d->name;
	unsigned v = d->port;
	size_t len;

	addr_text(d->af, d->addr, d->address, sizeof(d->address));
	*digits = '\0';
	do
		*--digits = (char)('0' + v % 10);
	while ((v /= 10) && digits > port);
	len = strlen(d->address);
	if (d->af == AF_INET6)
		*out++ = '[';
	memcpy(out, d->address, len);
	out += len;
	if (d->af == AF_INET6)
		*out++ = ']';
	*out++ = ':';
	memcpy(out, digits, strlen(digits) + 1);
}

static const char *proto_name(unsigned protocol)
{
	switch (protocol) {
	case IPPROTO_TCP: return "tcp";
	case IPPROTO_UDP: return "udp";
	case IPPROTO_SCTP: return "sctp";
	}
	return NULL;
}

static void svc_name(struct svc *s)
{
	char a[INET6_ADDRSTRLEN];
	const char *proto = proto_name(s->protocol);

	if (s->fwmark) {
		snprintf(s->name, sizeof(s->name), "%s:%u", s->af == AF_INET6 ? "fwm6" : "fwm", s->fwmark);
		return;
	}
	addr_text(s->af, s->addr, a, sizeof(a));
	if (proto)
		snprintf(s->name, sizeof(s->name), s->af == AF_INET6 ? "%s:[%s]:%u" : "%s:%s:%u", proto, a, s->port);
	else
		snprintf(s->name, sizeof(s->name), s->af == AF_INET6 ? "proto%u:[%s]:%u" : "proto%u:%s:%u", s->protocol,
			 a, s->port);
}

static int parse_addr(const char *text, int *af, unsigned char *addr)
{
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, text, addr) == 1)
		*af = AF_INET;
	else if (inet_pton(AF_INET6, text, addr) == 1)
		*af = AF_INET6;
	else
		return -1;
	return 0;
}

static int bad_pool(struct lbm *lb, const char *typed)
{
	return lbm_driver_fail(lb, LBM_EINVAL,
			       "pool '%s' is not an IPVS service: expected tcp:VIP:PORT, udp:VIP:PORT, "
			       "sctp:VIP:PORT or fwm:MARK (IPv6: tcp:[2001:db8::1]:80, fwm6:MARK)",
			       typed);
}

static int parse_svc(struct lbm *lb, const char *typed, struct svc *s)
{
	static const struct {
		const char *word;
		unsigned protocol;
	} protos[] = { { "tcp", IPPROTO_TCP }, { "udp", IPPROTO_UDP }, { "sctp", IPPROTO_SCTP } };
	const char *colon = strchr(typed, ':');
	char addr[LBM_NAME_MAX];
	size_t wlen;

	memset(s, 0, sizeof(*s));
	if (!colon)
		return bad_pool(lb, typed);
	wlen = (size_t)(colon - typed);
	if ((wlen == 3 && !strncasecmp(typed, "fwm", 3)) || (wlen == 4 && !strncasecmp(typed, "fwm6", 4))) {
		char *end;
		unsigned long mark;

		errno = 0;
		mark = strtoul(colon + 1, &end, 10); /* decimal, as ipvsadm -Ln shows it */
		if (errno || end == colon + 1 || *end || !mark || mark > 0xffffffffUL || colon[1] == '-')
			return bad_pool(lb, typed);
		s->af = wlen == 4 ? AF_INET6 : AF_INET;
		s->fwmark = (unsigned)mark;
		svc_name(s);
		return 0;
	}
	for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
		if (wlen == strlen(protos[i].word) && !strncasecmp(typed, protos[i].word, wlen))
			s->protocol = protos[i].protocol;
	if (!s->protocol || !lbm_split_hostport(colon + 1, addr, sizeof(addr), &s->port) || !s->port ||
	    parse_addr(addr, &s->af, s->addr) < 0 || (s->af == AF_INET6 && colon[1] != '['))
		return bad_pool(lb, typed);
	svc_name(s);
	return 0;
}

static int lvs_pool_name(struct lbm *lb, const char *typed, char *out, size_t outsz)
{
	struct svc s;
	int ret = parse_svc(lb, typed, &s);

	if (ret == 0)
		lbm_copy(out, outsz, s.name);
	return ret;
}

static const char *fwd_name(unsigned fwd)
{
	switch (fwd & IP_VS_CONN_F_FWD_MASK) {
	case IP_VS_CONN_F_MASQ: return "Masq";
	case IP_VS_CONN_F_LOCALNODE: return "Local";
	case IP_VS_CONN_F_TUNNEL: return "Tunnel";
	case IP_VS_CONN_F_DROUTE: return "Route";
	}
	return "Bypass";
}

static int fwd_parse(const char *name, unsigned *fwd)
{
	static const unsigned all[] = { IP_VS_CONN_F_MASQ, IP_VS_CONN_F_LOCALNODE, IP_VS_CONN_F_TUNNEL,
					IP_VS_CONN_F_DROUTE };

	for (size_t i = 0; name && i < sizeof(all) / sizeof(all[0]); i++) {
		if (!strcmp(name, fwd_name(all[i]))) {
			*fwd = all[i];
			return 0;
		}
	}
	return -1;
}

/* ---- netlink ---- */

struct exchange {
	uint32_t seq;
	int kernel_errno; /* from the kernel's nlmsgerr, exactly */
	int (*parse)(struct lbm *lb, struct nlattr **attrs, void *arg);
	struct lbm *lb;
	void *arg;
	int parse_ret;
};

static int on_seq(struct nl_msg *msg, void *arg)
{
	struct exchange *x = arg;

	/* An answer to an earlier request that timed out: not ours. */
	return nlmsg_hdr(msg)->nlmsg_seq == x->seq ? NL_OK : NL_SKIP;
}

static int on_error(struct sockaddr_nl *nla, struct nlmsgerr *err, void *arg)
{
	struct exchange *x = arg;

	(void)nla;
	x->kernel_errno = -err->error;
	return NL_STOP;
}

static int on_ack(struct nl_msg *msg, void *arg)
{
	(void)msg;
	(void)arg;
	return NL_STOP;
}

static int on_valid(struct nl_msg *msg, void *arg)
{
	struct exchange *x = arg;
	struct nlattr *attrs[IPVS_CMD_ATTR_MAX + 1];

	if (!x->parse)
		return NL_OK;
	if (genlmsg_parse(nlmsg_hdr(msg), 0, attrs, IPVS_CMD_ATTR_MAX, NULL) < 0) {
		x->parse_ret =
			lbm_driver_fail(x->lb, LBM_EPROTO, "the kernel sent an IPVS message lbmember cannot parse");
		return NL_STOP;
	}
	x->parse_ret = x->parse(x->lb, attrs, x->arg);
	return x->parse_ret < 0 ? NL_STOP : NL_OK;
}

/* Send msg (consumed) and read the answer, handing every message to parse.
 * Returns 0, a negative LBM_E* with the message set, or a positive errno
 * the kernel answered with, for the caller to put into words. */
static int exchange(struct lbm *lb, struct nl_msg *msg, int (*parse)(struct lbm *, struct nlattr **, void *), void *arg)
{
	struct exchange x = { .parse = parse, .lb = lb, .arg = arg };
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);
	int ret;

	if (!cb) {
		nlmsg_free(msg);
		return lbm_driver_fail(lb, LBM_ENOMEM, "out of memory");
	}
	nl_cb_set(cb, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, on_seq, &x);
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_valid, &x);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, on_ack, &x);
	nl_cb_err(cb, NL_CB_CUSTOM, on_error, &x);
	ret = nl_send_auto(priv(lb)->sk, msg);
	x.seq = nlmsg_hdr(msg)->nlmsg_seq;
	nlmsg_free(msg);
	if (ret < 0) {
		ret = lbm_driver_fail(lb, LBM_EIO, "cannot send to the kernel: %s", nl_geterror(ret));
		goto out;
	}
	ret = nl_recvmsgs(priv(lb)->sk, cb);
	if (x.kernel_errno)
		ret = x.kernel_errno;
	else if (x.parse_ret < 0)
		ret = x.parse_ret;
	else if (ret == -NLE_AGAIN)
		ret = lbm_driver_fail(lb, LBM_ETIMEDOUT, "the kernel did not answer within %g s", lb->timeout_s);
	else if (ret < 0)
		ret = lbm_driver_fail(lb, LBM_EIO, "cannot read the kernel's answer: %s", nl_geterror(ret));
	else
		ret = 0;
out:
	nl_cb_put(cb);
	return ret;
}

/* The kernel's errno, in words for this request. */
static int kernel_fail(struct lbm *lb, int err, const char *what)
{
	switch (err) {
	case EPERM:
	case EACCES:
		return lbm_driver_fail(lb, LBM_EPERM,
				       "%s: permission denied by the kernel: IPVS needs CAP_NET_ADMIN (run as root)",
				       what);
	case ESRCH: return lbm_driver_fail(lb, LBM_ENOTFOUND, "%s: no such virtual service", what);
	case ENOENT: return lbm_driver_fail(lb, LBM_ENOTFOUND, "%s: no such real server", what);
	case EEXIST: return lbm_driver_fail(lb, LBM_EPROTO, "%s: the real server already exists", what);
	}
	return lbm_driver_fail(lb, LBM_EIO, "%s: the kernel said: %s (errno %d)", what, strerror(err), err);
}

static struct nl_msg *request(struct lbm *lb, uint8_t cmd, int flags)
{
	struct nl_msg *msg = nlmsg_alloc();

	if (msg && genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, priv(lb)->family, 0, flags, cmd, IPVS_GENL_VERSION))
		return msg;
	nlmsg_free(msg);
	return NULL;
}

static int put_svc_key(struct nl_msg *msg, const struct svc *s)
{
	struct nlattr *nest = nla_nest_start(msg, IPVS_CMD_ATTR_SERVICE);

	if (!nest || nla_put_u16(msg, IPVS_SVC_ATTR_AF, (uint16_t)s->af) < 0)
		return -1;
	if (s->fwmark) {
		if (nla_put_u32(msg, IPVS_SVC_ATTR_FWMARK, s->fwmark) < 0)
			return -1;
	} else if (nla_put_u16(msg, IPVS_SVC_ATTR_PROTOCOL, (uint16_t)s->protocol) < 0 ||
		   nla_put(msg, IPVS_SVC_ATTR_ADDR, 16, s->addr) < 0 ||
		   nla_put_u16(msg, IPVS_SVC_ATTR_PORT, htons((uint16_t)s->port)) < 0) {
		return -1;
	}
	nla_nest_end(msg, nest);
	return 0;
}

/* full: everything NEW_DEST and SET_DEST require; otherwise the key only. */
static int put_dest(struct nl_msg *msg, const struct dest *d, bool full)
{
	struct nlattr *nest = nla_nest_start(msg, IPVS_CMD_ATTR_DEST);

	if (!nest || nla_put(msg, IPVS_DEST_ATTR_ADDR, 16, d->addr) < 0 ||
	    nla_put_u16(msg, IPVS_DEST_ATTR_ADDR_FAMILY, (uint16_t)d->af) < 0 ||
	    nla_put_u16(msg, IPVS_DEST_ATTR_PORT, htons((uint16_t)d->port)) < 0)
		return -1;
	if (full && (nla_put_u32(msg, IPVS_DEST_ATTR_FWD_METHOD, d->fwd) < 0 ||
		     nla_put_u32(msg, IPVS_DEST_ATTR_WEIGHT, d->weight) < 0 ||
		     nla_put_u32(msg, IPVS_DEST_ATTR_U_THRESH, d->u_thresh) < 0 ||
		     nla_put_u32(msg, IPVS_DEST_ATTR_L_THRESH, d->l_thresh) < 0))
		return -1;
	/* Without these the kernel would reset a tunnel to plain IPIP. */
	if (full && d->has_tun &&
	    (nla_put_u8(msg, IPVS_DEST_ATTR_TUN_TYPE, (uint8_t)d->tun_type) < 0 ||
	     nla_put_u16(msg, IPVS_DEST_ATTR_TUN_PORT, htons((uint16_t)d->tun_port)) < 0 ||
	     nla_put_u16(msg, IPVS_DEST_ATTR_TUN_FLAGS, (uint16_t)d->tun_flags) < 0))
		return -1;
	nla_nest_end(msg, nest);
	return 0;
}

static unsigned get_u32(struct nlattr *a)
{
	return a && nla_len(a) >= 4 ? nla_get_u32(a) : 0;
}

static unsigned get_u16(struct nlattr *a)
{
	return a && nla_len(a) >= 2 ? nla_get_u16(a) : 0;
}

static void get_string(struct nlattr *a, char *out, size_t outsz)
{
	out[0] = '\0';
	if (a && nla_len(a) > 0)
		snprintf(out, outsz, "%.*s", nla_len(a), (const char *)nla_data(a));
}

static int parse_svc_attrs(struct lbm *lb, struct nlattr **attrs, void *arg)
{
	struct nlattr *a[IPVS_SVC_ATTR_MAX + 1];
	struct svc *s = arg;
	struct ip_vs_flags flags = { 0 };

	if (!attrs[IPVS_CMD_ATTR_SERVICE] ||
	    nla_parse_nested(a, IPVS_SVC_ATTR_MAX, attrs[IPVS_CMD_ATTR_SERVICE], NULL) < 0 || !a[IPVS_SVC_ATTR_AF] ||
	    !a[IPVS_SVC_ATTR_SCHED_NAME])
		return lbm_driver_fail(lb, LBM_EPROTO, "the kernel sent a virtual service without its key");
	memset(s, 0, sizeof(*s));
	s->af = (int)get_u16(a[IPVS_SVC_ATTR_AF]);
	s->fwmark = get_u32(a[IPVS_SVC_ATTR_FWMARK]);
	s->protocol = get_u16(a[IPVS_SVC_ATTR_PROTOCOL]);
	if (a[IPVS_SVC_ATTR_ADDR])
		memcpy(s->addr, nla_data(a[IPVS_SVC_ATTR_ADDR]),
		       nla_len(a[IPVS_SVC_ATTR_ADDR]) < 16 ? (size_t)nla_len(a[IPVS_SVC_ATTR_ADDR]) : 16);
	s->port = ntohs((uint16_t)get_u16(a[IPVS_SVC_ATTR_PORT]));
	get_string(a[IPVS_SVC_ATTR_SCHED_NAME], s->sched, sizeof(s->sched));
	get_string(a[IPVS_SVC_ATTR_PE_NAME], s->pe, sizeof(s->pe));
	if (a[IPVS_SVC_ATTR_FLAGS] && nla_len(a[IPVS_SVC_ATTR_FLAGS]) >= (int)sizeof(flags))
		memcpy(&flags, nla_data(a[IPVS_SVC_ATTR_FLAGS]), sizeof(flags));
	s->flags = flags.flags;
	s->timeout = get_u32(a[IPVS_SVC_ATTR_TIMEOUT]);
	s->netmask = get_u32(a[IPVS_SVC_ATTR_NETMASK]);
	svc_name(s);
	return 0;
}

struct svcs {
	struct svc *v;
	size_t n;
};

static int add_svc(struct lbm *lb, struct nlattr **attrs, void *arg)
{
	struct svcs *all = arg;
	struct svc *grown = realloc(all->v, (all->n + 1) * sizeof(*grown));

	if (!grown)
		return lbm_driver_fail(lb, LBM_ENOMEM, "out of memory");
	all->v = grown;
	return parse_svc_attrs(lb, attrs, &all->v[all->n++]);
}

static int add_dest(struct lbm *lb, struct nlattr **attrs, void *arg)
{
	struct nlattr *a[IPVS_DEST_ATTR_MAX + 1];
	struct dests *all = arg;
	struct dest *d, *grown;

	if (!attrs[IPVS_CMD_ATTR_DEST] ||
	    nla_parse_nested(a, IPVS_DEST_ATTR_MAX, attrs[IPVS_CMD_ATTR_DEST], NULL) < 0 || !a[IPVS_DEST_ATTR_ADDR] ||
	    !a[IPVS_DEST_ATTR_PORT])
		return lbm_driver_fail(lb, LBM_EPROTO, "the kernel sent a real server without its address");
	grown = realloc(all->v, (all->n + 1) * sizeof(*grown));
	if (!grown)
		return lbm_driver_fail(lb, LBM_ENOMEM, "out of memory");
	all->v = grown;
	d = &all->v[all->n++];
	memset(d, 0, sizeof(*d));
	d->af = (int)get_u16(a[IPVS_DEST_ATTR_ADDR_FAMILY]);
	memcpy(d->addr, nla_data(a[IPVS_DEST_ATTR_ADDR]),
	       nla_len(a[IPVS_DEST_ATTR_ADDR]) < 16 ? (size_t)nla_len(a[IPVS_DEST_ATTR_ADDR]) : 16);
	d->port = ntohs((uint16_t)get_u16(a[IPVS_DEST_ATTR_PORT]));
	d->fwd = get_u32(a[IPVS_DEST_ATTR_FWD_METHOD]) & IP_VS_CONN_F_FWD_MASK;
	d->weight = get_u32(a[IPVS_DEST_ATTR_WEIGHT]);
	d->u_thresh = get_u32(a[IPVS_DEST_ATTR_U_THRESH]);
	d->l_thresh = get_u32(a[IPVS_DEST_ATTR_L_THRESH]);
	d->active = (long)get_u32(a[IPVS_DEST_ATTR_ACTIVE_CONNS]);
	d->inactive = (long)get_u32(a[IPVS_DEST_ATTR_INACT_CONNS]);
	d->has_tun = a[IPVS_DEST_ATTR_TUN_TYPE] != NULL;
	if (d->has_tun) {
		d->tun_type = a[IPVS_DEST_ATTR_TUN_TYPE] ? nla_get_u8(a[IPVS_DEST_ATTR_TUN_TYPE]) : 0;
		d->tun_port = ntohs((uint16_t)get_u16(a[IPVS_DEST_ATTR_TUN_PORT]));
		d->tun_flags = get_u16(a[IPVS_DEST_ATTR_TUN_FLAGS]);
	}
	return 0;
}

/* The service with s's key, fresh from the kernel (ESRCH: none). */
static int get_service(struct lbm *lb, struct svc *s)
{
	char what[LBM_NAME_MAX + 32];
	struct nl_msg *msg = request(lb, IPVS_CMD_GET_SERVICE, 0);
	int ret;

	snprintf(what, sizeof(what), "reading %s", s->name);
	if (!msg || put_svc_key(msg, s) < 0) {
		nlmsg_free(msg);
		return lbm_driver_fail(lb, LBM_ENOMEM, "out of memory");
	}
	ret = exchange(lb, msg, parse_svc_attrs, s);
	return ret > 0 ? kernel_fail(lb, ret, what) : ret;
}

static int dump_services(struct lbm *lb, struct svcs *all)
{
	struct nl_msg *msg = request(lb, IPVS_CMD_GET_SERVICE, NLM_F_DUMP);
	int ret;

	if (!msg)
		return lbm_driver_fail(lb, LBM_ENOMEM, "out of memory");
	ret = exchange(lb, msg, add_svc, all);
	return ret > 0 ? kernel_fail(lb, ret, "listing virtual services") : ret;
}

/* Every real server of one service, in one dump. */
static int dump_dests(struct lbm *lb, const struct svc *s, struct dests *all)
{
	char what[LBM_NAME_MAX + 32];
	struct nl_msg *msg = request(lb, IPVS_CMD_GET_DEST, NLM_F_DUMP);
	int ret;

	snprintf(what, sizeof(what), "listing real servers of %s", s->name);
	if (!msg || put_svc_key(msg, s) < 0) {
		nlmsg_free(msg);
		return lbm_driver_fail(lb, LBM_ENOMEM, "out of memory");
	}
	ret = exchange(lb, msg, add_dest, all);
	if (ret > 0)
		return kernel_fail(lb, ret, what);
	for (size_t i = 0; i < all->n; i++) {
		if (!all->v[i].af)
			all->v[i].af = s->af; /* kernels before 3.18 do not say */
		dest_name(&all->v[i]);
	}
	return ret;
}

/* NEW_DEST, SET_DEST or DEL_DEST for d in s. */
static int change_dest(struct lbm *lb, const struct svc *s, const struct dest *d, uint8_t cmd, const char *what)
{
	char words[2 * LBM_NAME_MAX + 64];
	struct nl_msg *msg = request(lb, cmd, NLM_F_ACK);
	int ret;

	snprintf(words, sizeof(words), "%s %s in %s", what, d->name, s->name);
	if (!msg || put_svc_key(msg, s) < 0 || put_dest(msg, d, cmd != IPVS_CMD_DEL_DEST) < 0) {
		nlmsg_free(msg);
		return lbm_driver_fail(lb, LBM_ENOMEM, "out of memory");
	}
	ret = exchange(lb, msg, NULL, NULL);
	return ret > 0 ? kernel_fail(lb, ret, words) : ret;
}

/* ---- records ---- */

static void record_key(const struct svc *s, const char *member, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s/%s", s->name, member);
}

static json_t *record_of(const struct svc *s, const struct dest *d)
{
	char addr[INET6_ADDRSTRLEN], when[32];
	time_t now = time(NULL);
	struct tm tm;
	json_t *rec;

	addr_text(d->af, d->addr, addr, sizeof(addr));
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
	rec = json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:i, s:i, s:i, s:s}", "pool", s->name, "member", d->name,
			"family", d->af == AF_INET6 ? "inet6" : "inet", "address", addr, "port", (int)d->port,
			"forward", fwd_name(d->fwd), "weight", (int)d->weight, "upper_threshold", (int)d->u_thresh,
			"lower_threshold", (int)d->l_thresh, "recorded_at", when);
	if (rec && d->has_tun &&
	    json_object_set_new(rec, "tunnel",
				json_pack("{s:i, s:i, s:i}", "type", (int)d->tun_type, "port", (int)d->tun_port,
					  "flags", (int)d->tun_flags)) < 0) {
		json_decref(rec);
		return NULL;
	}
	return rec;
}

static int dest_of(struct lbm *lb, const struct lbm_store *st, const char *key, json_t *rec, struct dest *d)
{
	const char *addr = NULL, *fwd = NULL;
	int port = -1, weight = -1, upper = -1, lower = -1, tun_type = 0, tun_port = 0, tun_flags = 0;
	json_t *tun = NULL;
	char path[PATH_MAX + NAME_MAX];

	memset(d, 0, sizeof(*d));
	if (json_unpack(rec, "{s:s, s:i, s:s, s:i, s:i, s:i, s?o}", "address", &addr, "port", &port, "forward", &fwd,
			"weight", &weight, "upper_threshold", &upper, "lower_threshold", &lower, "tunnel", &tun) < 0 ||
	    (tun &&
	     json_unpack(tun, "{s:i, s:i, s:i}", "type", &tun_type, "port", &tun_port, "flags", &tun_flags) < 0) ||
	    parse_addr(addr, &d->af, d->addr) < 0 || port < 0 || port > 65535 || fwd_parse(fwd, &d->fwd) < 0 ||
	    weight < 0 || upper < 0 || lower < 0 || tun_type < 0 || tun_port < 0 || tun_port > 65535 || tun_flags < 0) {
		lbm_store_path(st, key, path, sizeof(path));
		return lbm_driver_fail(lb, LBM_EIO,
				       "state file %s is corrupt (a field is missing or out of range): lbmember will "
				       "not guess what to restore; check ipvsadm -Ln, then fix or remove the file",
				       path);
	}
	d->port = (unsigned)port;
	d->weight = (unsigned)weight;
	d->u_thresh = (unsigned)upper;
	d->l_thresh = (unsigned)lower;
	d->has_tun = tun != NULL;
	d->tun_type = (unsigned)tun_type;
	d->tun_port = (unsigned)tun_port;
	d->tun_flags = (unsigned)tun_flags;
	d->active = d->inactive = -1;
	dest_name(d);
	if (strcmp(strrchr(key, '/') ? strrchr(key, '/') + 1 : key, d->name)) {
		lbm_store_path(st, key, path, sizeof(path));
		return lbm_driver_fail(lb, LBM_EIO,
				       "state file %s is corrupt: it records %s, not the member its name says", path,
				       d->name);
	}
	return 0;
}

static int add_record(struct lbm *lb, const char *key, json_t *rec, void *arg)
{
	struct dests *recs = arg;
	struct dest *grown = realloc(recs->v, (recs->n + 1) * sizeof(*grown));

	if (!grown)
		return lbm_driver_fail(lb, LBM_ENOMEM, "out of memory");
	recs->v = grown;
	recs->n++;
	return dest_of(lb, &priv(lb)->store, key, rec, &recs->v[recs->n - 1]);
}

static int get_record(struct lbm *lb, const struct svc *s, const char *member, struct dest *d, bool *found)
{
	char key[2 * LBM_NAME_MAX];
	json_t *rec;
	int ret;

	*found = false;
	record_key(s, member, key, sizeof(key));
	ret = lbm_store_get(lb, &priv(lb)->store, key, &rec);
	if (ret < 0 || !rec)
		return ret;
	ret = dest_of(lb, &priv(lb)->store, key, rec, d);
	json_decref(rec);
	*found = ret == 0;
	return ret;
}

static int drop_record(struct lbm *lb, const struct svc *s, const char *member)
{
	char key[2 * LBM_NAME_MAX];

	record_key(s, member, key, sizeof(key));
	return lbm_store_del(lb, &priv(lb)->store, key);
}

static const struct dest *find_dest(const struct dests *all, const char *name)
{
	for (size_t i = 0; i < all->n; i++)
		if (!strcmp(all->v[i].name, name))
			return &all->v[i];
	return NULL;
}

/* ---- the table's owner ---- */

/* The network namespace a file names (/proc/PID/ns/net, /run/netns/NAME). */
static bool same_netns(const char *a, const char *b)
{
	struct stat x, y;

	return stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

/* The PID in pidfile when it is a live process called comm in netns. */
static pid_t live_pid(const char *pidfile, const char *comm, const char *netns)
{
	char path[64], name[32] = "";
	long pid = 0;
	FILE *f = fopen(pidfile, "re");

	if (!f)
		return 0;
	if (fscanf(f, "%ld", &pid) != 1 || pid <= 0 || pid > 1 << 22)
		pid = 0;
	fclose(f);
	if (!pid)
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (!fgets(name, sizeof(name), f))
		name[0] = '\0';
	fclose(f);
	name[strcspn(name, "\n")] = '\0';
	snprintf(path, sizeof(path), "/proc/%ld/ns/net", pid);
	return !strcmp(name, comm) && same_netns(path, netns) ? (pid_t)pid : 0;
}

/* The first live process of the pid files matching pattern. */
static pid_t find_process(const char *pattern, const char *comm, const char *netns)
{
	glob_t g;
	pid_t pid = 0;

	if (glob(pattern, 0, NULL, &g) != 0)
		return 0;
	for (size_t i = 0; !pid && i < g.gl_pathc; i++)
		pid = live_pid(g.gl_pathv[i], comm, netns);
	globfree(&g);
	return pid;
}

/* keepalived's -f FILE, -fFILE or --use-file=FILE; a relative one is from
 * its working directory. */
static void keepalived_conf(pid_t pid, char *out, size_t outsz)
{
	char path[64], args[8192], *arg, *end, *file = NULL;
	size_t len = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/cmdline", (long)pid);
	f = fopen(path, "re");
	if (f) {
		len = fread(args, 1, sizeof(args) - 1, f);
		fclose(f);
	}
	args[len] = '\0';
	end = args + len;
	for (arg = args; arg < end && !file; arg += strlen(arg) + 1) {
		if ((!strcmp(arg, "-f") || !strcmp(arg, "--use-file")) && arg + strlen(arg) + 1 < end)
			file = arg + strlen(arg) + 1;
		else if (!strncmp(arg, "--use-file=", 11))
			file = arg + 11;
		else if (!strncmp(arg, "-f", 2) && arg[2] != '-')
			file = arg + 2;
	}
	if (!file || !*file)
		file = "/etc/keepalived/keepalived.conf";
	if (*file == '/')
		lbm_copy(out, outsz, file);
	else
		snprintf(out, outsz, "/proc/%ld/cwd/%s", (long)pid, file);
}

static void find_owner(struct lvs *lvs, const char *netns)
{
	/* keepalived.pid and checkers.pid (the process that writes IPVS);
	 * an instance adds _NAME, a namespace a directory of its own. */
	static const char *const keepalived[] = { "/run/keepalived.pid", "/run/checkers.pid", "/run/keepalived/*.pid",
						  "/run/keepalived/*/*.pid" };

	for (size_t i = 0; !lvs->owner.keepalived && i < sizeof(keepalived) / sizeof(keepalived[0]); i++)
		lvs->owner.keepalived = find_process(keepalived[i], "keepalived", netns);
	if (lvs->owner.keepalived)
		keepalived_conf(lvs->owner.keepalived, lvs->owner.conf, sizeof(lvs->owner.conf));
	lvs->owner.ldirectord = find_process("/run/ldirectord.*.pid", "ldirectord", netns);
}

/* What keepalived does with the item's real server; out->managed false
 * when keepalived does not run here, or its configuration has not this
 * real server of this service (one added by hand, which it neither puts
 * back nor re-adds). */
static int keepalived_dest(struct lbm *lb, const struct svc *s, int af, const unsigned char *addr, unsigned port,
			   struct lbm_ka_real *out)
{
	const struct owner *o = &priv(lb)->owner;
	struct lbm_ka_service ks = { .af = s->af, .port = s->port, .fwmark = s->fwmark };
	char err[LBM_ERRMSG_MAX];

	memset(out, 0, sizeof(*out));
	if (!o->keepalived)
		return 0;
	ks.protocol = s->fwmark ? 0 : s->protocol;
	memcpy(ks.addr, s->addr, sizeof(ks.addr));
	if (lbm_ka_lookup(o->conf, &ks, af, addr, port, out, err, sizeof(err)) < 0)
		return lbm_driver_fail(lb, LBM_EOWNER,
				       "keepalived runs here (pid %ld), but lbmember cannot tell whether it manages "
				       "%s: %s; ignore_owner (--ignore-owner) changes IPVS anyway",
				       (long)o->keepalived, s->name, err);
	return 0;
}

static int keepalived_of(struct lbm *lb, const struct lbm_item *item, struct lbm_ka_real *out)
{
	unsigned char addr[16];
	struct svc s;
	int af = 0, ret;

	memset(out, 0, sizeof(*out));
	if (!priv(lb)->owner.keepalived)
		return 0;
	ret = parse_svc(lb, item->pool, &s);
	if (ret == 0 && parse_addr(item->member->address, &af, addr) < 0)
		ret = lbm_driver_fail(lb, LBM_EINVAL, "%s has no address lbmember can read", item->member->name);
	return ret < 0 ? ret : keepalived_dest(lb, &s, af, addr, item->member->port, out);
}

/* A weight 0 lbmember did not set, on a real server keepalived checks
 * with inhibit_on_failure and no track_file saying 1: keepalived's failed
 * check, which a listing should call down rather than draining. */
static bool inhibited(const struct lbm_ka_real *ka)
{
	char value[8] = "";
	FILE *f;

	if (!ka->managed || !ka->checked || !ka->inhibit)
		return false;
	if (ka->track_file[0] && (f = fopen(ka->track_path, "re"))) {
		if (!fgets(value, sizeof(value), f))
			value[0] = '\0';
		fclose(f);
	}
	return atoi(value) == 0;
}

/* "drain_198_51_100_84_80": a track_file name for the advice. */
static void track_name(const struct lbm_member *m, char *out, size_t outsz)
{
	size_t n = (size_t)snprintf(out, outsz, "drain_%s_%u", m->address, m->port);

	for (size_t i = 0; i < n && i < outsz; i++)
		if (!((out[i] >= 'a' && out[i] <= 'z') || (out[i] >= '0' && out[i] <= '9')))
			out[i] = '_';
}

/* Before anything is touched: what keepalived would undo is refused,
 * with the configuration that lets lbmember drain through keepalived. */
static int lvs_check(struct lbm *lb, const struct lbm_item *item)
{
	const struct owner *o = &priv(lb)->owner;
	struct lbm_ka_real ka;
	char name[96];
	int ret;

	if (priv(lb)->ignore_owner || (item->state == LBM_STATE_ENABLED && item->weight < 0))
		return 0;
	ret = keepalived_of(lb, item, &ka);
	if (ret < 0 || !ka.managed)
		return ret;
	if (item->state == LBM_STATE_ENABLED)
		return lbm_driver_fail(lb, LBM_EOWNER,
				       "%s %s is managed by keepalived (pid %ld, %s line %u), whose weight for it is "
				       "%d: change it there, or ignore_owner (--ignore-owner) to set it in IPVS anyway",
				       item->pool, item->member->name, (long)o->keepalived, ka.conf, ka.line,
				       ka.weight);
	if (item->state == LBM_STATE_DISABLED)
		return lbm_driver_fail(lb, LBM_EOWNER,
				       "%s %s is managed by keepalived (pid %ld, %s), which adds a removed real "
				       "server back at its next check or restart: drain it%s, or ignore_owner "
				       "(--ignore-owner) to remove it anyway",
				       item->pool, item->member->name, (long)o->keepalived, o->conf,
				       ka.track_file[0] ? " (through its track_file)" : "");
	if (ka.track_file[0])
		return 0;
	track_name(item->member, name, sizeof(name));
	return lbm_driver_fail(
		lb, LBM_EOWNER,
		"%s %s is managed by keepalived (pid %ld, %s line %u), which puts it back at weight %d at its next "
		"checker change or restart: give its real_server a FILE_CHECK on a track_file to drain through "
		"('track_file %s { file /etc/keepalived/drain/%s  init_file 0 }' at the top, and in the real_server "
		"'FILE_CHECK { track_file %s  weight -65535 }', one keyword per line), or ignore_owner "
		"(--ignore-owner) to change IPVS anyway",
		item->pool, item->member->name, (long)o->keepalived, ka.conf, ka.line, ka.weight, name, name + 6, name);
}

/* Write the track file keepalived watches ("1": drained), then see
 * keepalived apply it to IPVS within the timeout. */
static int through_track_file(struct lbm *lb, const struct svc *s, const struct lbm_item *item,
			      const struct lbm_ka_real *ka)
{
	const char *value = item->state == LBM_STATE_ENABLED ? "0\n" : "1\n";
	double deadline = lbm_now() + lb->timeout_s;
	int fd = open(ka->track_path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	bool written = fd >= 0 && write(fd, value, 2) == 2;
	int ret = 0;

	if (fd >= 0 && close(fd) < 0)
		written = false;
	if (!written)
		return lbm_driver_fail(lb, LBM_EIO, "cannot write keepalived's track_file %s (%s): %s", ka->track_file,
				       ka->track_path, strerror(errno));
	for (;;) {
		struct dests kernel = { 0 };
		const struct dest *d;
		bool applied;

		ret = dump_dests(lb, s, &kernel);
		d = ret == 0 ? find_dest(&kernel, item->member->name) : NULL;
		applied = item->state == LBM_STATE_ENABLED ? d && d->weight : !d || !d->weight;
		free(kernel.v);
		if (ret < 0 || applied)
			return ret;
		if (lbm_now() > deadline)
			break;
		lbm_sleep(0.05);
	}
	if (item->state == LBM_STATE_ENABLED)
		return lbm_driver_fail(lb, LBM_EHELD,
				       "%s %s: its track_file %s says 0, but keepalived has not put it back within %g "
				       "s "
				       "(does its health check fail?)",
				       s->name, item->member->name, ka->track_file, lb->timeout_s);
	return lbm_driver_fail(lb, LBM_ETIMEDOUT,
			       "%s %s: its track_file %s says 1, but keepalived has not set weight 0 within %g s",
			       s->name, item->member->name, ka->track_file, lb->timeout_s);
}

/* With ignore_owner: what keepalived will do to the change. */
static void warn_owner(struct lbm *lb, const struct lbm_item *item, const struct lbm_ka_real *ka)
{
	long pid = (long)priv(lb)->owner.keepalived;

	if (item->state == LBM_STATE_DRAINING)
		lbm_warn(lb,
			 "%s %s: keepalived (pid %ld) puts it back at weight %d at its next checker change or "
			 "restart",
			 item->pool, item->member->name, pid, ka->weight);
	else if (item->state == LBM_STATE_DISABLED)
		lbm_warn(lb, "%s %s: keepalived (pid %ld) adds it back at its next check or restart", item->pool,
			 item->member->name, pid);
}

/* ---- list ---- */

static void append(char *buf, size_t sz, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void append(char *buf, size_t sz, const char *fmt, ...)
{
	size_t len = strlen(buf);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf + len, sz - len, fmt, ap);
	va_end(ap);
}

/* "Route", "Tunnel gue port 6080", "Masq weight 2; thresholds lower 10 upper 100":
 * the weight only for a removed real server, whose weight is not listed. */
static void describe_dest(const struct dest *d, bool with_weight, char *out, size_t outsz)
{
	static const char *const tun_types[] = { "ipip", "gue", "gre" };
	size_t len;

	len = strlen(out);
	lbm_copy(out + len, outsz - len, fwd_name(d->fwd));
	if (d->has_tun && d->fwd == IP_VS_CONN_F_TUNNEL && d->tun_type)
		append(out, outsz, " %s port %u", d->tun_type < 3 ? tun_types[d->tun_type] : "?", d->tun_port);
	if (with_weight)
		append(out, outsz, " weight %u", d->weight);
	if (d->u_thresh || d->l_thresh)
		append(out, outsz, "; thresholds lower %u upper %u", d->l_thresh, d->u_thresh);
}

static void describe_svc(const struct svc *s, char *out, size_t outsz)
{
	out[0] = '\0';
	append(out, outsz, "%s", s->sched);
	if (s->flags & IP_VS_SVC_F_PERSISTENT) {
		append(out, outsz, " persistent %u", s->timeout);
		if (s->af == AF_INET && s->netmask != 0xffffffffu) {
			char mask[INET_ADDRSTRLEN];

			addr_text(AF_INET, (const unsigned char *)&s->netmask, mask, sizeof(mask));
			append(out, outsz, " mask %s", mask);
		} else if (s->af == AF_INET6 && s->netmask != 128) {
			append(out, outsz, " mask %u", s->netmask);
		}
		if (s->pe[0])
			append(out, outsz, " pe %s", s->pe);
	}
	if (s->flags & IP_VS_SVC_F_ONEPACKET)
		append(out, outsz, " ops");
	for (unsigned i = 0; i < 3; i++) {
		static const char *const names[][3] = { { "sh-fallback", "sh-port", "flag-3" },
							{ "mh-fallback", "mh-port", "flag-3" },
							{ "flag-1", "flag-2", "flag-3" } };
		unsigned which = !strcmp(s->sched, "sh") ? 0 : !strcmp(s->sched, "mh") ? 1 : 2;

		if (s->flags & (IP_VS_SVC_F_SCHED1 << i))
			append(out, outsz, " %s", names[which][i]);
	}
}

/* Why a real server has weight 0 when lbmember did not set it, as far as
 * keepalived's configuration tells: its failed check (down), or what
 * cannot be known. */
static void owner_status(struct lbm *lb, const struct svc *s, const struct dest *d, struct lbm_member *m, char *status,
			 size_t statussz)
{
	char errmsg[LBM_ERRMSG_MAX];
	struct lbm_ka_real ka;

	if (!priv(lb)->owner.keepalived)
		return;
	memcpy(errmsg, lb->errmsg, sizeof(errmsg));
	if (keepalived_dest(lb, s, d->af, d->addr, d->port ? d->port : s->port, &ka) < 0) {
		append(status, statussz,
		       "; keepalived runs here, and whether this weight 0 is its failed check "
		       "cannot be known (its configuration cannot be read)");
	} else if (inhibited(&ka)) {
		/* Not taken out by anyone: keepalived's health check. */
		m->state = LBM_STATE_ENABLED;
		m->health = LBM_HEALTH_DOWN;
		append(status, statussz, "; keepalived: its check failed (inhibit_on_failure)");
	}
	memcpy(lb->errmsg, errmsg, sizeof(errmsg));
}

static int add_members(struct lbm *lb, struct lbm_listing *l, struct lbm_pool *pool, const struct svc *s,
		       const struct dests *kernel, const struct dests *recs)
{
	char status[LBM_NAME_MAX];

	for (size_t i = 0; i < kernel->n + recs->n; i++) {
		bool removed = i >= kernel->n;
		const struct dest *d = removed ? &recs->v[i - kernel->n] : &kernel->v[i];
		const struct dest *rec = removed ? d : find_dest(recs, d->name);
		struct lbm_member *m;

		if (removed && find_dest(kernel, d->name))
			continue;
		m = lbm_pool_add_member(l, pool, d->name);
		if (!m)
			return lbm_driver_fail(lb, LBM_ENOMEM, "out of memory");
		lbm_copy(m->address, sizeof(m->address), d->address);
		m->port = d->port ? d->port : s->port;
		status[0] = '\0';
		if (removed) {
			m->state = LBM_STATE_DISABLED;
			m->restore_weight = (int)d->weight;
			append(status, sizeof(status), "removed; recorded ");
			describe_dest(d, true, status, sizeof(status));
			m->status = lbm_str(l, status);
			continue;
		}
		m->state = d->weight ? LBM_STATE_ENABLED : LBM_STATE_DRAINING;
		m->weight = (int)d->weight;
		m->active = d->active;
		m->inactive = d->inactive;
		describe_dest(d, false, status, sizeof(status));
		/* A record is trusted only while the destination is out. */
		if (!d->weight && rec) {
			m->restore_weight = (int)rec->weight;
			append(status, sizeof(status), "; recorded weight %u", rec->weight);
		} else if (!d->weight) {
			owner_status(lb, s, d, m, status, sizeof(status));
		}
		m->status = lbm_str(l, status);
	}
	return 0;
}

/* ipvsadm -Ln's order, rather than the kernel's newest-first. */
static int dest_cmp(const void *a, const void *b)
{
	const struct dest *x = a, *y = b;
	int c = x->af - y->af;

	if (!c)
		c = memcmp(x->addr, y->addr, 16);
	return c ? c : (int)x->port - (int)y->port;
}

/* Records of real servers that IPVS shows back in rotation (weight > 0):
 * something else (keepalived at a restart, ipvsadm) put them back, and a
 * record would make lbmember restore a stale weight later. A listing
 * notes them; a change that follows it (after_change) drops those of the
 * pools it listed and says so, each by name: a plain listing writes
 * nothing. */
static void note_stale(struct lbm *lb, const struct svc *s, const struct dests *kernel, const struct dests *recs)
{
	struct lvs *lvs = priv(lb);

	for (size_t i = 0; i < recs->n; i++) {
		const struct dest *d = find_dest(kernel, recs->v[i].name);
		struct stale *grown;

		if (!d || !d->weight || !(grown = realloc(lvs->stale, (lvs->n_stale + 1) * sizeof(*grown))))
			continue;
		lvs->stale = grown;
		lvs->stale[lvs->n_stale++] = (struct stale){ .svc = *s, .rec = recs->v[i] };
	}
}

/* Under the lock, looked at again: a drain may have come since. */
static void drop_stale(struct lbm *lb, const struct stale *st)
{
	struct dests now = { 0 };
	const struct dest *d;
	struct dest rec;
	bool have_rec = false;

	if (dump_dests(lb, &st->svc, &now) == 0 && (d = find_dest(&now, st->rec.name)) && d->weight &&
	    get_record(lb, &st->svc, st->rec.name, &rec, &have_rec) == 0 && have_rec &&
	    drop_record(lb, &st->svc, st->rec.name) == 0)
		lbm_warn(lb,
			 "%s %s was put back in rotation by something else (keepalived? weight %u, lbmember "
			 "recorded %u): lbmember's record of it is cleared",
			 st->svc.name, d->name, d->weight, rec.weight);
	free(now.v);
}

static void lvs_after_change(struct lbm *lb)
{
	struct lvs *lvs = priv(lb);
	char errmsg[LBM_ERRMSG_MAX];
	size_t n = lvs->n_stale;

	lvs->n_stale = 0; /* noted for this change only */
	if (!n)
		return;
	memcpy(errmsg, lb->errmsg, sizeof(errmsg));
	if (lbm_store_lock(lb, &lvs->store) == 0) {
		for (size_t i = 0; i < n; i++)
			drop_stale(lb, &lvs->stale[i]);
		lbm_store_unlock(&lvs->store);
	}
	memcpy(lb->errmsg, errmsg, sizeof(errmsg));
}

static int list_service(struct lbm *lb, const struct svc *s, struct lbm_listing *l)
{
	struct dests kernel = { 0 }, recs = { 0 };
	struct lbm_pool *pool;
	char prefix[LBM_NAME_MAX + 2], detail[LBM_NAME_MAX];
	int ret;

	pool = lbm_pool_add(l, s->name);
	if (!pool)
		return lbm_driver_fail(lb, LBM_ENOMEM, "out of memory");
	describe_svc(s, detail, sizeof(detail));
	pool->detail = lbm_str(l, detail);
	ret = dump_dests(lb, s, &kernel);
	if (ret == 0) {
		record_key(s, "", prefix, sizeof(prefix));
		ret = lbm_store_scan(lb, &priv(lb)->store, prefix, add_record, &recs);
	}
	if (ret == 0) {
		if (kernel.n)
			qsort(kernel.v, kernel.n, sizeof(*kernel.v), dest_cmp);
		if (recs.n)
			qsort(recs.v, recs.n, sizeof(*recs.v), dest_cmp);
		ret = add_members(lb, l, pool, s, &kernel, &recs);
	}
	if (ret == 0)
		note_stale(lb, s, &kernel, &recs);
	free(kernel.v);
	free(recs.v);
	return ret;
}

static int lvs_list(struct lbm *lb, const char *const *names, size_t n, struct lbm_listing *out)
{
	struct svcs all = { 0 };
	struct svc one;
	int ret = 0;

	priv(lb)->n_stale = 0;
	for (size_t i = 0; names && i < n && ret == 0; i++) {
		ret = parse_svc(lb, names[i], &one);
		if (ret == 0)
			ret = get_service(lb, &one);
		if (ret == LBM_ENOTFOUND)
			return lbm_driver_fail(lb, LBM_ENOTFOUND, "no virtual service %s", names[i]);
		if (ret == 0)
			ret = list_service(lb, &one, out);
	}
	if (names)
		return ret;
	ret = dump_services(lb, &all);
	for (size_t i = 0; ret == 0 && i < all.n; i++)
		ret = list_service(lb, &all.v[i], out);
	free(all.v);
	return ret;
}

/* ---- apply ---- */

static bool quiescent_templates_expire(struct lbm *lb)
{
	char c = '1';

	return priv(lb)->quiescent_fd < 0 || pread(priv(lb)->quiescent_fd, &c, 1, 0) != 1 || c != '0';
}

static void advise(struct lbm *lb, const struct svc *s, const struct lbm_item *item)
{
	if (item->state == LBM_STATE_DISABLED && (item->member->state == LBM_STATE_ENABLED || item->member->active > 0))
		lbm_warn(lb, "IPVS drops the packets of connections still open to a removed real server: "
			     "draining first (with a wait) is the gentle path");
	if (item->state == LBM_STATE_DRAINING && (s->flags & IP_VS_SVC_F_PERSISTENT) && !quiescent_templates_expire(lb))
		lbm_warn(lb,
			 "%s is persistent and net.ipv4.vs.expire_quiescent_template is 0: clients "
			 "holding a persistence template keep reaching a drained real server "
			 "until it expires (%u s)",
			 s->name, s->timeout);
}

/* Record cur's definition before taking it out, unless it is out already
 * and its record holds the weight to restore. */
static int remember(struct lbm *lb, const struct svc *s, const struct dest *cur, bool have_rec)
{
	char key[2 * LBM_NAME_MAX];
	json_t *rec;
	int ret;

	if (have_rec && !cur->weight)
		return 0;
	rec = record_of(s, cur);
	if (!rec)
		return lbm_driver_fail(lb, LBM_ENOMEM, "out of memory");
	record_key(s, cur->name, key, sizeof(key));
	ret = lbm_store_put(lb, &priv(lb)->store, key, rec);
	json_decref(rec);
	return ret;
}

static int enable(struct lbm *lb, const struct svc *s, const struct lbm_item *item, const struct dest *cur,
		  const struct dest *rec)
{
	struct dest want = cur ? *cur : *rec;
	int ret;

	if (item->weight >= 0)
		want.weight = (unsigned)item->weight;
	else if (rec && (!cur || !cur->weight))
		want.weight = rec->weight;
	if (!want.weight)
		return lbm_driver_fail(lb, LBM_EINVAL,
				       "%s in %s has weight 0 and no weight recorded by lbmember (was it drained by "
				       "another tool?): give the weight to restore",
				       want.name, s->name);
	ret = cur ? change_dest(lb, s, &want, IPVS_CMD_SET_DEST, "setting the weight of")
		  : change_dest(lb, s, &want, IPVS_CMD_NEW_DEST, "adding back");
	return ret < 0 ? ret : drop_record(lb, s, want.name);
}

static int apply_one(struct lbm *lb, const struct lbm_item *item)
{
	struct dests kernel = { 0 };
	struct lbm_ka_real ka;
	const struct dest *cur;
	struct dest rec, want;
	struct svc s;
	bool have_rec = false;
	int ret;

	ret = parse_svc(lb, item->pool, &s);
	if (ret == 0)
		ret = get_service(lb, &s);
	if (ret == 0)
		ret = dump_dests(lb, &s, &kernel);
	if (ret == 0)
		ret = get_record(lb, &s, item->member->name, &rec, &have_rec);
	if (ret < 0)
		goto out;
	cur = find_dest(&kernel, item->member->name);
	if (!cur && !have_rec) {
		ret = lbm_driver_fail(lb, LBM_ENOTFOUND, "%s has no real server %s any more", s.name,
				      item->member->name);
		goto out;
	}
	ret = keepalived_of(lb, item, &ka);
	if (ret < 0)
		goto out;
	if (priv(lb)->owner.ldirectord)
		lbm_warn(lb,
			 "ldirectord (pid %ld) manages IPVS here: it may undo this change at its next check or reload",
			 (long)priv(lb)->owner.ldirectord);
	if (ka.managed && priv(lb)->ignore_owner) {
		warn_owner(lb, item, &ka);
	} else if (ka.managed && ka.track_file[0]) {
		ret = through_track_file(lb, &s, item, &ka);
		if (ret == 0 && have_rec)
			ret = drop_record(lb, &s, item->member->name);
		goto out;
	} else if (ka.managed && !cur) {
		/* Removed by keepalived (a failed check), or by an earlier
		 * lbmember --ignore-owner: either way keepalived adds it back
		 * when its check passes. */
		ret = drop_record(lb, &s, item->member->name);
		if (ret == 0)
			ret = lbm_driver_fail(
				lb, LBM_EHELD,
				"%s %s is not in IPVS, and keepalived (pid %ld) manages it: keepalived adds "
				"it back when its check passes, lbmember does not (its record is cleared)",
				s.name, item->member->name, (long)priv(lb)->owner.keepalived);
		goto out;
	}
	advise(lb, &s, item);
	switch (item->state) {
	case LBM_STATE_DRAINING:
		want = cur ? *cur : rec;
		want.weight = 0;
		ret = cur ? remember(lb, &s, cur, have_rec) : 0;
		if (ret == 0)
			ret = change_dest(lb, &s, &want, cur ? IPVS_CMD_SET_DEST : IPVS_CMD_NEW_DEST,
					  cur ? "setting weight 0 on" : "adding back with weight 0");
		break;
	case LBM_STATE_DISABLED:
		ret = cur ? remember(lb, &s, cur, have_rec) : 0;
		if (ret == 0 && cur)
			ret = change_dest(lb, &s, cur, IPVS_CMD_DEL_DEST, "removing");
		break;
	default: ret = enable(lb, &s, item, cur, have_rec ? &rec : NULL); break;
	}
out:
	free(kernel.v);
	return ret;
}

static int lvs_apply(struct lbm *lb, struct lbm_item *items, size_t n)
{
	int ret = lbm_store_lock(lb, &priv(lb)->store);

	for (size_t i = 0; ret == 0 && i < n; i++) {
		ret = apply_one(lb, &items[i]);
		items[i].done = ret == 0;
	}
	lbm_store_unlock(&priv(lb)->store);
	return ret;
}

static void lvs_predict(const struct lbm_item *item, struct lbm_member *after)
{
	if (item->state == LBM_STATE_DRAINING) {
		after->weight = 0;
	} else if (item->state == LBM_STATE_DISABLED) {
		after->weight = -1;
		after->active = after->inactive = -1;
	} else if (item->weight < 0 && item->member->restore_weight >= 0) {
		after->weight = item->member->restore_weight;
	}
}

/* ---- open/close ---- */

static int connect_here(struct lbm *lb)
{
	struct lvs *lvs = priv(lb);
	/* A zero timeval would mean no timeout at all. */
	double t = lb->timeout_s > 0.001 ? lb->timeout_s : 0.001;
	struct timeval tv = { .tv_sec = (time_t)t, .tv_usec = (suseconds_t)((t - (double)(time_t)t) * 1e6) };
	int ret;

	lvs->sk = nl_socket_alloc();
	if (!lvs->sk)
		return lbm_driver_fail(lb, LBM_ENOMEM, "out of memory");
	ret = genl_connect(lvs->sk);
	if (ret < 0)
		return lbm_driver_fail(lb, LBM_EIO, "cannot open a generic netlink socket: %s", nl_geterror(ret));
	if (setsockopt(nl_socket_get_fd(lvs->sk), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(nl_socket_get_fd(lvs->sk), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		return lbm_driver_fail(lb, LBM_EIO, "cannot set the netlink socket's timeout: %s", strerror(errno));
	ret = genl_ctrl_resolve(lvs->sk, IPVS_GENL_NAME);
	if (ret == -NLE_OBJ_NOTFOUND)
		return lbm_driver_fail(lb, LBM_ENOTSUP,
				       "IPVS is not available in this kernel (module ip_vs not loaded? try "
				       "'modprobe ip_vs' as root)");
	if (ret == -NLE_AGAIN)
		return lbm_driver_fail(lb, LBM_ETIMEDOUT, "the kernel did not answer within %g s", lb->timeout_s);
	if (ret < 0)
		return lbm_driver_fail(lb, LBM_EIO, "cannot look up the IPVS netlink family: %s", nl_geterror(ret));
	lvs->family = ret;
	/* Requests that want an ACK ask for it: a dump must not get one. */
	nl_socket_disable_auto_ack(lvs->sk);
	/* The kernel fills each round of a dump up to the reader's buffer (32
	 * KiB at most): libnl's default of a page makes up to eight times the
	 * rounds (listing 10,000 destinations: 1.21 -> 1.34x ipvsadm's speed). */
	nl_socket_set_msg_buf_size(lvs->sk, 32768);
	lvs->quiescent_fd = open(EXPIRE_QUIESCENT, O_RDONLY | O_CLOEXEC);
	return 0;
}

/* Open the socket inside the named network namespace, then come back. */
static int connect_netns(struct lbm *lb, const char *name)
{
	char path[PATH_MAX];
	int home, there, ret;

	if (!*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..") || strlen(name) > NAME_MAX)
		return lbm_driver_fail(lb, LBM_EINVAL, "netns '%s' is not a namespace name (as in ip netns list)",
				       name);
	snprintf(path, sizeof(path), "/run/netns/%s", name);
	there = open(path, O_RDONLY | O_CLOEXEC);
	if (there < 0)
		return lbm_driver_fail(lb, errno == ENOENT ? LBM_ENOTFOUND : LBM_EIO,
				       "cannot open network namespace %s: %s", path, strerror(errno));
	home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (home < 0) {
		close(there);
		return lbm_driver_fail(lb, LBM_EIO, "cannot open /proc/self/ns/net: %s", strerror(errno));
	}
	if (setns(there, CLONE_NEWNET) < 0) {
		ret = lbm_driver_fail(lb, errno == EPERM ? LBM_EPERM : LBM_EIO,
				      "cannot enter network namespace %s: %s%s", name, strerror(errno),
				      errno == EPERM ? " (needs CAP_SYS_ADMIN: run as root)" : "");
	} else {
		ret = connect_here(lb);
		if (setns(home, CLONE_NEWNET) < 0) {
			/* Staying in the wrong namespace would be worse than stopping. */
			fprintf(stderr, "lbmember: cannot return to the original network namespace: %s\n",
				strerror(errno));
			abort();
		}
	}
	close(home);
	close(there);
	return ret;
}

static int lvs_open(struct lbm *lb, const char *location, const struct lbm_options *opt)
{
	struct lvs *lvs = calloc(1, sizeof(*lvs));
	int ret;

	if (!lvs)
		return lbm_driver_fail(lb, LBM_ENOMEM, "out of memory");
	lvs->quiescent_fd = -1;
	lvs->store.lock_fd = -1;
	lb->priv = lvs;
	lvs->ignore_owner = opt->ignore_owner;
	ret = lbm_store_init(lb, &lvs->store, opt->state_dir);
	if (ret < 0)
		return ret;
	if (!*location) {
		find_owner(lvs, "/proc/self/ns/net");
		return connect_here(lb);
	}
	if (!strncmp(location, "?netns=", 7)) {
		char dir[sizeof(lvs->store.dir)], netns[PATH_MAX];

		/* Each namespace has its own IPVS table, so its own records. */
		ret = connect_netns(lb, location + 7);
		snprintf(netns, sizeof(netns), "/run/netns/%s", location + 7);
		find_owner(lvs, netns);
		if (ret == 0 &&
		    (size_t)snprintf(dir, sizeof(dir), "%s/netns/%s", lvs->store.dir, location + 7) >= sizeof(dir))
			return lbm_driver_fail(lb, LBM_EINVAL, "state directory name is too long");
		if (ret == 0)
			lbm_copy(lvs->store.dir, sizeof(lvs->store.dir), dir);
		return ret;
	}
	return lbm_driver_fail(lb, LBM_EINVAL,
			       "target 'lvs://%s' is not understood: expected lvs:// or lvs://?netns=NAME", location);
}

static void lvs_close(struct lbm *lb)
{
	struct lvs *lvs = priv(lb);

	if (!lvs)
		return;
	nl_socket_free(lvs->sk);
	if (lvs->quiescent_fd >= 0)
		close(lvs->quiescent_fd);
	lbm_store_unlock(&lvs->store);
	free(lvs->stale);
	free(lvs);
	lb->priv = NULL;
}

static const struct lbm_option_def lvs_options[] = {
	{ { .name = "ignore_owner",
	    .type = LBM_OPTION_FLAG,
	    .help = "Change IPVS where keepalived owns the service although keepalived will undo it (at its next "
		    "checker change or restart; a warning says so), instead of refusing.",
	    .change_only = 1 },
	  LBM_OPTION_AT(ignore_owner) },
	{ { 0 }, 0 },
};

const struct lbm_driver lbm_driver_lvs = {
	.info = {
		.scheme = "lvs",
		.name = "LVS",
		.usage = "lvs://, lvs://?netns=NAME",
		.summary = "the local kernel's IPVS table, through generic netlink (needs CAP_NET_ADMIN)",
		.naming = "pool: tcp:VIP:PORT, udp:..., sctp:..., fwm:MARK, tcp:[2001:db8::1]:80; member: IP[:PORT] "
			  "(the port defaults to the service's)",
	},
	.cannot_cut = "a drained real server's connections cannot be cut: disable drops them (the destination is "
		      "removed)",
	.options = lvs_options,
	.check = lvs_check,
	.after_change = lvs_after_change,
	.open = lvs_open,
	.close = lvs_close,
	.list = lvs_list,
	.apply = lvs_apply,
	.pool_name = lvs_pool_name,
	.predict = lvs_predict,
};
