/* SPDX-License-Identifier: MIT */
/* What AnsibleModule's argument_spec does for a Python module (ansible-core
 * 2.14, module_utils/common/arg_spec.py and parameters.py), done in C for a
 * binary module, which nothing validates: same conversions, same order of
 * checks, same messages, same no_log masking. */
#ifndef LBM_ARGSPEC_H
#define LBM_ARGSPEC_H

#include <jansson.h>
#include <stdbool.h>

enum as_type {
	AS_STR,	  /* anything converts, as Python's str() would */
	AS_PATH,  /* AS_STR, then $VAR and ~ expanded */
	AS_INT,	  /* int, or a string int() accepts; a bool stays a bool (True is an int) */
	AS_FLOAT, /* float, int, bool, or a string float() accepts */
	AS_BOOL,  /* Ansible's boolean(): 'yes', 'on', 1, 'true', 't', 'y', '1'... */
	AS_RAW,	  /* kept as given (type: raw) */
};

struct as_option {
	const char *name;
	const char *alias; /* another name for it (aliases: [alias]); NULL: none */
	enum as_type type;
	bool required;
	bool no_log;
	const char *default_json;   /* the default as JSON text; NULL: none */
	const char *const *choices; /* NULL-terminated; NULL: any value */
};

/*
 * Validate params (a JSON object without the _ansible_* keys) against the n
 * options. Returns the validated parameters, as AnsibleModule's
 * module.params: converted, defaults filled in, missing options null, an
 * alias given kept as given beside its option; on an error, as far as
 * validation got, which is what AnsibleModule reports as
 * invocation.module_args. *msg is then the first error's message
 * (malloc'd), else NULL. no_log gets the values to hide from the output,
 * warnings the strings AnsibleModule would warn (an option given under both
 * its names). NULL only when memory ran out.
 */
json_t *as_validate(const struct as_option *opts, size_t n, const char *module_name, json_t *params, json_t *no_log,
		    json_t *warnings, char **msg);

/* Ansible's boolean(): 0 and *out set, or -1 when value is none of them. */
int as_boolean(const json_t *value, bool *out);

/* Ansible's remove_values(): a copy of value where a string equal to a
 * no_log value becomes VALUE_SPECIFIED_IN_NO_LOG_PARAMETER, a string holding
 * one has it replaced by ********, and so on. NULL when memory ran out. */
json_t *as_remove_values(const json_t *value, const json_t *no_log);

#endif
