#!/usr/bin/env bash
# Regenerates the hand-made fixture trees (no machine here has RAPL, so these are written, not captured):
#   sysfs/two-socket          two packages, each with core, uncore and dram subzones (plain directories,
#                             the layout capture.sh writes); package-1 is 3 J below its max_energy_range_uj
#   sysfs/symlinked           one package, real-kernel layout: class/powercap/* are relative symlinks into
#                             devices/virtual/powercap/intel-rapl/...
#   sysfs/devices-only        one package under devices/virtual/powercap/intel-rapl, no class/ directory
#   sysfs/broken-*            no zones, missing energy_uj / name / max_energy_range_uj, garbage, empty, truncated
#   procfs/broken-*, procfs/old-kernel-*   broken and older-kernel variants of this-machine's stat and vmstat
# Usage: Tests/Fixtures/make-synthetic.sh   (run from anywhere; rewrites only the trees listed above)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
S="$here/sysfs"
P="$here/procfs"
PKG_RANGE=262143328850
DRAM_RANGE=65712999613

zone() {  # zone DIR NAME ENERGY RANGE
    mkdir -p "$1"
    printf '%s\n' "$2" > "$1/name"
    printf '%s\n' "$3" > "$1/energy_uj"
    printf '%s\n' "$4" > "$1/max_energy_range_uj"
    printf '1\n' > "$1/enabled"
}
control() { mkdir -p "$1/intel-rapl"; printf '1\n' > "$1/intel-rapl/enabled"; }

rm -rf "$S/two-socket" "$S/symlinked" "$S/devices-only" "$S"/broken-*
# two-socket
c="$S/two-socket/class/powercap"
control "$c"
zone "$c/intel-rapl:0" package-0 123456789012 $PKG_RANGE
zone "$c/intel-rapl:0/intel-rapl:0:0" core 98765432101 $PKG_RANGE
zone "$c/intel-rapl:0/intel-rapl:0:1" uncore 1234567890 $PKG_RANGE
zone "$c/intel-rapl:0/intel-rapl:0:2" dram 23456789012 $DRAM_RANGE
zone "$c/intel-rapl:1" package-1 $((PKG_RANGE - 3000000)) $PKG_RANGE
zone "$c/intel-rapl:1/intel-rapl:1:0" core 87654321098 $PKG_RANGE
zone "$c/intel-rapl:1/intel-rapl:1:1" uncore 2345678901 $PKG_RANGE
zone "$c/intel-rapl:1/intel-rapl:1:2" dram 34567890123 $DRAM_RANGE

# symlinked (as on a real kernel)
d="$S/symlinked/devices/virtual/powercap/intel-rapl"
mkdir -p "$d"; printf '1\n' > "$d/enabled"
zone "$d/intel-rapl:0" package-0 5000000 $PKG_RANGE
zone "$d/intel-rapl:0/intel-rapl:0:0" core 4000000 $PKG_RANGE
zone "$d/intel-rapl:0/intel-rapl:0:1" dram 1000000 $DRAM_RANGE
c="$S/symlinked/class/powercap"
mkdir -p "$c"
ln -s ../../devices/virtual/powercap/intel-rapl "$c/intel-rapl"
ln -s ../../devices/virtual/powercap/intel-rapl/intel-rapl:0 "$c/intel-rapl:0"
ln -s ../../devices/virtual/powercap/intel-rapl/intel-rapl:0/intel-rapl:0:0 "$c/intel-rapl:0:0"
ln -s ../../devices/virtual/powercap/intel-rapl/intel-rapl:0/intel-rapl:0:1 "$c/intel-rapl:0:1"

# devices-only
d="$S/devices-only/devices/virtual/powercap/intel-rapl"
zone "$d/intel-rapl:0" package-0 7000000 $PKG_RANGE
zone "$d/intel-rapl:0/intel-rapl:0:0" core 6000000 $PKG_RANGE

# broken sysfs trees
control "$S/broken-no-zones/class/powercap"
b() { control "$S/$1/class/powercap"; zone "$S/$1/class/powercap/intel-rapl:0" package-0 1000 $PKG_RANGE; }
b broken-missing-energy;  rm "$S/broken-missing-energy/class/powercap/intel-rapl:0/energy_uj"
b broken-missing-name;    rm "$S/broken-missing-name/class/powercap/intel-rapl:0/name"
b broken-missing-range;   rm "$S/broken-missing-range/class/powercap/intel-rapl:0/max_energy_range_uj"
b broken-garbage-energy;  printf '12ab34\n' > "$S/broken-garbage-energy/class/powercap/intel-rapl:0/energy_uj"
b broken-garbage-range;   printf 'unknown\n' > "$S/broken-garbage-range/class/powercap/intel-rapl:0/max_energy_range_uj"
b broken-empty-energy;    : > "$S/broken-empty-energy/class/powercap/intel-rapl:0/energy_uj"
b broken-truncated-energy; printf '12345 678' > "$S/broken-truncated-energy/class/powercap/intel-rapl:0/energy_uj"

# procfs variants, derived from the captured this-machine tree
src="$P/this-machine"
rm -rf "$P"/broken-* "$P"/old-kernel-*
mk() { mkdir -p "$P/$1"; cp "$src/stat" "$src/vmstat" "$P/$1/"; }
mk broken-empty;      : > "$P/broken-empty/stat"; : > "$P/broken-empty/vmstat"
mk broken-garbage;    sed -i 's/^ctxt .*/ctxt 12x45/' "$P/broken-garbage/stat"
                      sed -i 's/^pgfault .*/pgfault lots/' "$P/broken-garbage/vmstat"
mk broken-garbage-cpu; sed -i 's/^cpu  \([0-9]*\) /cpu  \1 n\/a /' "$P/broken-garbage-cpu/stat"
mk broken-truncated;  head -c 12 "$src/stat" > "$P/broken-truncated/stat"            # cut inside the cpu line
                      grep -B1000 '^pgmajfault ' "$src/vmstat" | sed '$ s/ .*//' | head -c -1 > "$P/broken-truncated/vmstat"
mk broken-truncated-tail; sed '/^softirq/d; s/^procs_blocked.*/procs_blocked/' "$src/stat" | head -c -1 > "$P/broken-truncated-tail/stat"   # ends in 'procs_blocked'
mk broken-missing;    grep -v '^ctxt ' "$src/stat" > "$P/broken-missing/stat"
                      grep -v '^pswpin ' "$src/vmstat" > "$P/broken-missing/vmstat"
mk old-kernel-4;      sed -i -E 's/^(cpu[0-9]* +[0-9]+ [0-9]+ [0-9]+ [0-9]+).*/\1/' "$P/old-kernel-4/stat"   # 2.4: four fields
mk old-kernel-8;      sed -i -E 's/^(cpu[0-9]* +([0-9]+ ){7}[0-9]+).*/\1/' "$P/old-kernel-8/stat"           # 2.6.11: steal, no guest
echo "fixtures written under $S and $P"
