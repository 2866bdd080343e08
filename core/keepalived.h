/* SPDX-License-Identifier: MIT */
/* What keepalived's configuration says of an IPVS virtual service and one
 * of its real servers: for the LVS driver (lvs.c) only, which must not
 * fight the program that owns the table. Read as keepalived reads it (its
 * includes, one keyword per line), never guessed. */
#ifndef LBM_KEEPALIVED_H
#define LBM_KEEPALIVED_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

/* The service looked up, as IPVS keys it. */
struct lbm_ka_service {
	int af;		   /* AF_INET or AF_INET6 */
	unsigned protocol; /* IPPROTO_TCP, IPPROTO_UDP or IPPROTO_SCTP; 0 for a fwmark service */
	unsigned char addr[16];
	unsigned port;
	unsigned fwmark; /* not 0: a fwmark service (af still says which family) */
};

/* What keepalived does with one real server. */
struct lbm_ka_real {
	bool service; /* a virtual_server (directly or through a virtual_server_group) is this service */
	bool managed; /* ...and lists this real server */
	bool checked; /* it has a health checker, which removes it (or with inhibit, zeroes it) on failure */
	bool inhibit; /* inhibit_on_failure: a failed check sets its weight to 0 instead of removing it */
	int weight;   /* its configured weight (keepalived's default: 1) */
	/* A FILE_CHECK on a track_file whose value 1 brings the weight to 0 or
	 * below (keepalived clamps it to 0): lbmember drains and enables
	 * through it. "" when the real server has none. */
	char track_file[64];
	char track_path[PATH_MAX];
	int track_weight;    /* what writing 1 adds to the weight: the FILE_CHECK's weight (else the
			      * track_file's), negated with `reverse`; 0 with inhibit_on_failure
			      * (any value but 0 fails the check, which zeroes the weight) */
	char conf[PATH_MAX]; /* the file that defines the real server (or the service), for messages */
	unsigned line;	     /* and its line */
};

/* Read the configuration conf (keepalived's -f; includes followed) and fill
 * *out for the real server (af, addr, port) of svc. Returns 0 (out->service
 * and out->managed false when the configuration does not have them), or -1
 * with a one-line message in err when conf cannot be read. */
int lbm_ka_lookup(const char *conf, const struct lbm_ka_service *svc, int af, const unsigned char *addr, unsigned port,
		  struct lbm_ka_real *out, char *err, size_t errsz);

#endif
