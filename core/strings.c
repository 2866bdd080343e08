// SPDX-License-Identifier: MIT
/* Strings sized to what they hold: a listing of 10,000 members keeps their
 * names, statuses and reasons in a few 16 KiB chunks instead of four
 * 256-byte buffers in each record. */
#define _POSIX_C_SOURCE 200809L

#include "core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_SIZE (16u << 10)

struct chunk {
	struct chunk *next;
	size_t used, size;
	char data[];
};

struct lbm_strings {
	struct chunk *head; /* the chunk being filled; older ones follow */
	bool failed;
};

/* What *s points to when even the arena could not be allocated: it says so,
 * and is never freed. */
static struct lbm_strings out_of_memory = { .failed = true };

static struct chunk *chunk_new(size_t size)
{
	struct chunk *c = malloc(sizeof(*c) + size);

	if (c) {
		c->next = NULL;
		c->used = 0;
		c->size = size;
	}
	return c;
}

const char *lbm_strings_add(struct lbm_strings **s, const char *text, size_t len)
{
	struct chunk *c;
	char *copy;

	if (!*s && !(*s = calloc(1, sizeof(**s))))
		*s = &out_of_memory;
	if ((*s)->failed)
		return NULL;
	c = (*s)->head;
	if (!c || c->size - c->used < len + 1) {
		/* A string larger than a chunk gets one of its own, behind the
		 * one being filled, which keeps its room. */
		struct chunk *fresh = chunk_new(len + 1 > CHUNK_SIZE ? len + 1 : CHUNK_SIZE);

		if (!fresh) {
			(*s)->failed = true;
			return NULL;
		}
		if (c && len + 1 > CHUNK_SIZE) {
			fresh->next = c->next;
			c->next = fresh;
		} else {
			fresh->next = c;
			(*s)->head = fresh;
		}
		c = fresh;
	}
	copy = c->data + c->used;
	memcpy(copy, text, len);
	copy[len] = '\0';
	c->used += len + 1;
	return copy;
}

bool lbm_strings_failed(const struct lbm_strings *s)
{
	return s && s->failed;
}

void lbm_strings_free(struct lbm_strings *s)
{
	if (!s || s == &out_of_memory)
		return;
	for (struct chunk *c = s->head, *next; c; c = next) {
		next = c->next;
		free(c);
	}
	free(s);
}

const char *lbm_str(struct lbm_listing *l, const char *s)
{
	const char *copy = lbm_strings_add(&l->strings, s, strlen(s));

	return copy ? copy : "";
}

const char *lbm_strf(struct lbm_listing *l, const char *fmt, ...)
{
	char small[256], *big = NULL;
	const char *copy;
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (len < 0)
		return "";
	if ((size_t)len >= sizeof(small)) {
		big = malloc((size_t)len + 1);
		if (!big) {
			lbm_strings_add(&l->strings, "", 0);
			if (l->strings)
				l->strings->failed = true;
			return "";
		}
		va_start(ap, fmt);
		vsnprintf(big, (size_t)len + 1, fmt, ap);
		va_end(ap);
	}
	copy = lbm_strings_add(&l->strings, big ? big : small, (size_t)len);
	free(big);
	return copy ? copy : "";
}
