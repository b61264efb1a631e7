#!/usr/bin/env bash
# Captures this machine's procfs (and, where it exists, powercap) files as fixture trees.
#   Tests/Fixtures/capture.sh [name]      (default name: this-machine)
# Writes Tests/Fixtures/procfs/<name>/{stat,vmstat,cpuinfo} and, when /sys/class/powercap has RAPL
# zones, Tests/Fixtures/sysfs/<name>/class/powercap/<zone>/{name,energy_uj,max_energy_range_uj,enabled}
# (symlinks dereferenced, subzones nested as on a real system). Reading energy_uj needs root since Linux 5.10.
set -euo pipefail
name=${1:-this-machine}
here=$(cd "$(dirname "$0")" && pwd)
proc_out="$here/procfs/$name"
mkdir -p "$proc_out"
for f in stat vmstat cpuinfo; do
    cat "/proc/$f" > "$proc_out/$f"
done
echo "wrote $proc_out: $(wc -l < "$proc_out/stat") stat lines, $(wc -l < "$proc_out/vmstat") vmstat lines"

shopt -s nullglob
zones=(/sys/class/powercap/intel-rapl:*)
if (( ${#zones[@]} == 0 )); then
    echo "no RAPL zones under /sys/class/powercap on this machine: powercap not captured"
    exit 0
fi
sys_out="$here/sysfs/$name/class/powercap"
mkdir -p "$sys_out/intel-rapl"
[[ -r /sys/class/powercap/intel-rapl/enabled ]] && cat /sys/class/powercap/intel-rapl/enabled > "$sys_out/intel-rapl/enabled"
for z in "${zones[@]}"; do
    key=$(basename "$z")
    IFS=: read -r _ pkg sub <<< "$key"
    if [[ -n "${sub:-}" ]]; then dir="$sys_out/intel-rapl:$pkg/$key"; else dir="$sys_out/$key"; fi
    mkdir -p "$dir"
    for f in name energy_uj max_energy_range_uj enabled; do
        [[ -r "$z/$f" ]] && cat "$z/$f" > "$dir/$f"
    done
done
echo "wrote $sys_out: ${#zones[@]} zones"
