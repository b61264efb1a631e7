#!/usr/bin/env bash
# Installs what vrapl needs to build, test and run its demo. As root it installs; otherwise it checks
# and prints exactly what to install. Usage: scripts/install-deps.sh [build|test]
set -euo pipefail
what=${1:-test}
apt_pkgs=(libhdf5-dev libopenblas-dev pkg-config)
[ "$what" = test ] && apt_pkgs+=(hdf5-tools stress-ng python3-pip systemd prometheus-node-exporter prometheus)
py_pkgs=(numpy h5py safetensors prometheus-client)

missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing system packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "missing system packages: ${missing[*]}" >&2
    echo "install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi
command -v swift >/dev/null || { echo "swift not found: install Swift 6.x (https://swift.org/install) and put it on PATH" >&2; exit 1; }

if [ "$what" = test ]; then
  py=$(command -v python3 || true)
  [ -n "$py" ] || { echo "python3 not found: apt-get install -y python3 python3-pip" >&2; exit 1; }
  pymissing=()
  for m in numpy h5py safetensors prometheus_client; do
    "$py" -c "import $m" 2>/dev/null || pymissing+=("$m")
  done
  if [ ${#pymissing[@]} -gt 0 ]; then
    echo "installing Python packages for the interoperability tests: ${py_pkgs[*]}"
    "$py" -m pip install -q "${py_pkgs[@]}" 2>/dev/null \
      || "$py" -m pip install -q --break-system-packages "${py_pkgs[@]}" \
      || { echo "could not install: python3 -m pip install ${py_pkgs[*]}" >&2; exit 1; }
  fi
fi
