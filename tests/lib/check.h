/* SPDX-License-Identifier: MIT */
/* How the C tests check and count, in one place:
 *
 *   CHECK(cond)                   counts a pass, or prints where and what failed
 *   CHECK_SAID(cond, fmt, ...)    the same, saying more when it fails
 *   check_context = fn;           a function whose text (a handle's message)
 *                                 every failure also prints
 *   return check_done();          prints "N passed, M failed"; 1 on any failure
 */
#ifndef LBM_TEST_CHECK_H
#define LBM_TEST_CHECK_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

static int check_passed, check_failed;
static const char *(*check_context)(void);

__attribute__((format(printf, 5, 6))) static inline void check_one(bool ok, const char *file, int line,
								   const char *func, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		check_passed++;
		return;
	}
	check_failed++;
	fprintf(stderr, "%s:%d: %s: failed: ", file, line, func);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (check_context)
		fprintf(stderr, " [%s]", check_context());
	fputc('\n', stderr);
}

#define CHECK(cond) check_one((cond), __FILE__, __LINE__, __func__, "%s", #cond)
#define CHECK_SAID(cond, ...) check_one((cond), __FILE__, __LINE__, __func__, __VA_ARGS__)

static inline int check_done(void)
{
	printf("%d passed, %d failed\n", check_passed, check_failed);
	return check_failed ? 1 : 0;
}

#endif
