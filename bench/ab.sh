#!/usr/bin/env bash
# Before/after on this machine: the tracker at an older commit (a git worktree, sharing this
# checkout's node_modules) against the working tree, interleaved round by round, with the
# project's load generator; prints responses/s per run and the median of per-round ratios.
#
#   bench/ab.sh <old-commit> [rounds=5] [seconds=5] [modes="http-keepalive udp"]
#
# Loopback only (127.0.0.1:7111); each run is bounded by the load generator's --seconds.
set -euo pipefail
old=${1:?usage: bench/ab.sh <old-commit> [rounds] [seconds] [modes]}
rounds=${2:-5}
secs=${3:-5}
modes=${4:-"http-keepalive udp"}
root=$(cd "$(dirname "$0")/.." && pwd)
tree=$(mktemp -d /tmp/sc6-ab-XXXXXX)
git -C "$root" worktree add -f -q "$tree" "$old"
ln -s "$root/node_modules" "$tree/node_modules"
trap 'git -C "$root" worktree remove --force "$tree"' EXIT
bun=$root/node_modules/.bin/bun
out=$(mktemp)
for r in $(seq 1 "$rounds"); do
  for mode in $modes; do
    for side in old new; do
      dir=$root; [ "$side" = old ] && dir=$tree
      (cd "$dir" && exec "$bun" run src/main.ts 7111 --host 127.0.0.1 --quiet --announces-per-minute 0 --udp-connects-per-minute 0) >/dev/null 2>&1 &
      pid=$!
      sleep 1.2
      rps=$("$bun" run "$root/bench/load/main.ts" --target 127.0.0.1:7111 --mode "$mode" --seconds "$secs" --warmup 1 --json 2>/dev/null |
        python3 -c "import json,sys; print(round(json.load(sys.stdin)['responsesPerSecond']))")
      kill "$pid"; wait "$pid" 2>/dev/null || true
      echo "$r $mode $side $rps" | tee -a "$out"
    done
  done
done
python3 - "$out" <<'PY'
import statistics as st, sys
rows = [l.split() for l in open(sys.argv[1])]
for mode in dict.fromkeys(r[1] for r in rows):
    old = [int(r[3]) for r in rows if r[1] == mode and r[2] == "old"]
    new = [int(r[3]) for r in rows if r[1] == mode and r[2] == "new"]
    ratios = [n / o for o, n in zip(old, new)]
    print(f"{mode}: new/old median {st.median(ratios):.3f} (per round {' '.join(f'{x:.2f}' for x in ratios)}); medians {st.median(old)} -> {st.median(new)}")
PY
rm -f "$out"
