/* SPDX-License-Identifier: MIT */
/* Shared by the harnesses: an input is a sequence of segments separated by
 * FUZZ_SEP (one balancer answer each), so that one input can drive a whole
 * exchange (read, change, read back). Harnesses include this after the
 * driver they test, whose feature macros come first. */
#ifndef LBM_FUZZ_H
#define LBM_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_SEP "\n%%\n"

struct fuzz_in {
	const uint8_t *p;
	size_t n;
	bool done;
};

/* The next segment, or false once the input is used up. */
static inline bool fuzz_next(struct fuzz_in *in, const uint8_t **seg, size_t *len)
{
	size_t seplen = strlen(FUZZ_SEP);

	if (in->done)
		return false;
	*seg = in->p;
	for (size_t i = 0; i + seplen <= in->n; i++) {
		if (!memcmp(in->p + i, FUZZ_SEP, seplen)) {
			*len = i;
			in->p += i + seplen;
			in->n -= i + seplen;
			return true;
		}
	}
	*len = in->n;
	in->done = true;
	return true;
}

/* A NUL-terminated copy (the caller frees it). */
static inline char *fuzz_str(const uint8_t *data, size_t len)
{
	char *s = malloc(len + 1);

	if (s) {
		memcpy(s, data, len);
		s[len] = '\0';
	}
	return s;
}

/* Whether the input holds s (a secret the balancer may quote back, which
 * then proves nothing about lbmember). */
static inline bool fuzz_has(const uint8_t *data, size_t size, const char *s)
{
	size_t len = strlen(s);

	for (size_t i = 0; i + len <= size; i++)
		if (!memcmp(data + i, s, len))
			return true;
	return false;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
