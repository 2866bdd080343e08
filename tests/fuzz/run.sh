#!/bin/sh
# SPDX-License-Identifier: MIT
# Run one libFuzzer harness over its seed corpus for a bounded time.
#   run.sh FUZZER SEED_DIR WORK_DIR [SECONDS]
# SECONDS defaults to $LBM_FUZZ_SECONDS, then 30. New inputs go to
# WORK_DIR/corpus (the seeds in the source tree are only read); a crash is
# written to WORK_DIR/crash-* and fails the run: copy it into SEED_DIR once
# fixed, so that every build replays it (fuzz.replay.<name>).
set -eu
fuzzer=$1 seeds=$2 work=$3
seconds=${4:-${LBM_FUZZ_SECONDS:-30}}
mkdir -p "$work/corpus"
exec "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
	-print_final_stats=1 -artifact_prefix="$work/" "$work/corpus" "$seeds"
