#!/usr/bin/env bash
# Regenerates scripts/guest-symbol-order.txt, the link order of the lean vrapl-guest
# (scripts/build-lean.sh passes it to lld as --symbol-ordering-file): the functions the live loop runs,
# hottest first, then those start-up runs. Run it after changes to the guest's loop or start-up;
# a stale list only costs resident memory (names it lacks keep their place, names that went are
# ignored). Needs valgrind (apt-get install valgrind) and python3; takes about a minute.
#   scripts/guest-symbol-order.sh [MODEL]
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${1:-models/sim-xeon-silver-4210r-v41.safetensors}
command -v valgrind > /dev/null || { echo "needs valgrind: apt-get install valgrind" >&2; exit 1; }
GUEST=$(scripts/build-lean.sh vrapl-guest | tail -n 1)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# valgrind cannot read lld's DWARF 5; the symbol table is all it needs.
objcopy --strip-debug "$GUEST" "$WORK/vrapl-guest"
run() {
    # OPENBLAS_NUM_THREADS=1 up front: the guest then does not re-execute itself.
    OPENBLAS_NUM_THREADS=1 valgrind --tool=callgrind --demangle=no --callgrind-out-file="$WORK/$1.out" "${@:2}" \
        "$WORK/vrapl-guest" --model "$MODEL" --quiet --duration 6s --textfile "$WORK/textfile-$1" > /dev/null 2> "$WORK/$1.log" \
        || { cat "$WORK/$1.log" >&2; exit 1; }
}
run live --collect-atstart=no '--toggle-collect=$s10VraplGuest0B6RunnerC7runLiveyyKF'
run all
python3 scripts/guest-symbol-order.py "$WORK/live.out" "$WORK/all.out" vrapl-guest > scripts/guest-symbol-order.txt
echo "wrote scripts/guest-symbol-order.txt ($(wc -l < scripts/guest-symbol-order.txt) functions)"
