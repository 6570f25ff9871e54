#!/bin/sh
# Instructions per queue op, counted by callgrind (repeatable where wall time
# on a shared machine is not): the program's total minus the in-run floor
# loop, at two op counts, divided by their difference, so start-up and
# device creation cancel out. Worker threads are counted too. The file
# backend defaults to sync: valgrind serializes threads and deadlocks on an
# io_uring engine thread blocked in io_uring_enter.
#
#   bench/queue_ops_callgrind.sh build/bench/queue_ops_bench 'local_sync_fill/64/' [N1 N2]
#
# FILTER must select one benchmark. Prints "FILTER  op_Ir_per_op  floor_Ir_per_op".
set -eu
bin=$1
filter=$2
n1=${3:-20000}
n2=${4:-120000}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
count() {  # N -> "total floor"
  HALIO_BACKEND=${HALIO_BACKEND:-sync} valgrind --tool=callgrind --callgrind-out-file="$dir/cg.$1" "$bin" --ops="$1" \
    --benchmark_filter="$filter" >/dev/null 2>&1
  callgrind_annotate --inclusive=yes --threshold=100 "$dir/cg.$1" 2>/dev/null | tr -d ',' | awk '
    /PROGRAM TOTALS/ { total = $1 }
    /FloorNanoseconds/ && floor == "" { floor = $1 }
    END { print total, (floor == "" ? 0 : floor) }'
}
set -- $(count "$n1") $(count "$n2")
awk -v t1="$1" -v f1="$2" -v t2="$3" -v f2="$4" -v n="$((n2 - n1))" -v name="$filter" \
  'BEGIN { printf "%-28s %8.1f %8.1f\n", name, ((t2 - f2) - (t1 - f1)) / n, (f2 - f1) / n }'
