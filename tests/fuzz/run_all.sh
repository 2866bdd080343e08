#!/bin/sh
# SPDX-License-Identifier: MIT
# Run every fuzzer longer than CI does, one after the other:
#   tests/fuzz/run_all.sh BUILD_DIR [SECONDS_EACH]     (default 600)
# BUILD_DIR is a clang build configured with -DLBM_FUZZ=ON. Each run's log
# is BUILD_DIR/tests/fuzz/work/NAME.log; its last lines give the executions.
set -eu
build=$1
seconds=${2:-600}
here=$(cd "$(dirname "$0")" && pwd)
status=0
for name in target haproxy f5 ipvs statestore nagios_range ansible_args; do
	work=$build/tests/fuzz/work/$name
	mkdir -p "$work"
	if "$here/run.sh" "$build/tests/fuzz/fuzz_$name" "$here/corpus/$name" "$work" "$seconds" >"$work.log" 2>&1; then
		echo "fuzz_$name: ok, $(grep -h 'stat::number_of_executed_units' "$work.log" | awk '{print $2}') executions in $seconds s"
	else
		echo "fuzz_$name: FAILED (see $work.log and $work/crash-*)"
		status=1
	fi
done
exit $status
