#!/usr/bin/env bash
# Captures the files vrapl's cgroup reader uses from a real cgroup v2 tree into a fixture tree:
#   Tests/Fixtures/cgroupfs/capture.sh /sys/fs/cgroup/unified DEST [MAXDEPTH]
# Copies cpu.stat, memory.max, memory.current and io.stat of the root and its descendants (as plain
# files; missing ones stay missing, which is part of what the tests exercise). Take two captures a
# second apart to get a t0/t1 pair. The committed t0, t1 and broken trees were written by hand in
# the kernel's formats (this VM's v2 tree only exposes cpu.stat); nvidia/ holds nvidia-smi outputs in
# the documented formats and fake_nvml.c.
set -euo pipefail
SRC=${1:?usage: $0 CGROUP_ROOT DEST [MAXDEPTH]}
DEST=${2:?usage: $0 CGROUP_ROOT DEST [MAXDEPTH]}
DEPTH=${3:-2}
mkdir -p "$DEST"
(cd "$SRC" && find . -maxdepth "$DEPTH" -type d) | while read -r dir; do
  mkdir -p "$DEST/$dir"
  for f in cpu.stat memory.max memory.current io.stat; do
    [ -r "$SRC/$dir/$f" ] && cat "$SRC/$dir/$f" > "$DEST/$dir/$f" 2>/dev/null || true
  done
done
echo "captured $(find "$DEST" -type f | wc -l) files from $SRC into $DEST"
