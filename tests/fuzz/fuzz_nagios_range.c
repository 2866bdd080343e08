// SPDX-License-Identifier: MIT
/* check_lb_members' Nagios range parser (-w/-c), with the invariants a
 * parsed range must hold. */
#include "range.h"
#include "fuzz.h"

#include <math.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nagios_range r;
	char why[256], *text = fuzz_str(data, size);

	if (!text)
		return 0;
	why[0] = '\0';
	if (nagios_range_parse(text, &r, why, sizeof(why)) == 0) {
		/* Accepted: ordered, and alerting outside (or inside with @). */
		if (isnan(r.start) || isnan(r.end) || r.start > r.end || r.text != text)
			abort();
		if (nagios_range_alert(&r, r.start) != r.inside || nagios_range_alert(&r, r.end) != r.inside)
			abort();
	} else if (!why[0] || (strchr(why, '\n') && !strchr(text, '\n'))) {
		abort(); /* refused: always with a reason */
	}
	free(text);
	return 0;
}
