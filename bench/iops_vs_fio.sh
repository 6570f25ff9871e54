#!/usr/bin/env bash
# Issue 14's jobs: 4 KiB random reads, O_DIRECT at queue depths 1/32/128 and
# hot at 1/32, local_sync and local_async on io_uring, each row beside fio's
# equivalent job (bench/README.md, "Random 4 KiB reads against fio").
# Usage: bench/iops_vs_fio.sh [FILE] [HALIO]   (FILE: 1 GiB of random bytes
# made in /var/tmp when not given; it must not be on tmpfs for O_DIRECT)
set -euo pipefail
file=${1:-/var/tmp/halio_iops.dat}
halio=${2:-$(dirname "$0")/../build/src/tools/halio}
if [ ! -f "$file" ]; then
  head -c 1G /dev/urandom > "$file"
fi
common=(--pattern rand --file "$file" --device local_sync,local_async --backend io_uring
        --runtime 2 --runs 3 --vs-fio --no-progress)
echo "== O_DIRECT"
"$halio" bench "${common[@]}" --direct --queue-depth 1,32,128
echo "== hot"
"$halio" bench "${common[@]}" --queue-depth 1,32
