#!/usr/bin/env bash
# Builds the lean release binaries that run on other machines: vrapl-collect (bare-metal hosts) and
# vrapl-guest (VMs). Prints the path of each binary it built.
#   scripts/build-lean.sh [PRODUCT...]        default: vrapl-collect vrapl-guest
#
# - the Swift runtime is linked in (--static-swift-stdlib): nothing of Swift to install where they
#   run; only Debian's libc, libstdc++, zlib, libsz/libaec and (guest) libopenblas are loaded;
# - HDF5 is linked statically for every build (Sources/CHDF5/module.modulemap), so neither loads the
#   libcurl/gnutls/krb5 chain that Debian's shared libhdf5 pulls in;
# - linked by lld with packed relative relocations (DT_RELR, glibc >= 2.36): still a PIE, but the
#   loader no longer reads 1.8 MB of relocation records at start-up.
# vrapl-collect also links no Foundation (the recording chain does not import it). Together this
# takes the collector from 33 MB to about 16 MB resident (docs/PERFORMANCE.md, "Collector").
set -euo pipefail
cd "$(dirname "$0")/.."
SWIFT=${SWIFT:-swift}
products=("$@")
[ ${#products[@]} -gt 0 ] || products=(vrapl-collect vrapl-guest)
flags=(-c release --static-swift-stdlib --scratch-path .build-static
       -Xswiftc -use-ld=lld -Xlinker -z -Xlinker pack-relative-relocs)
for product in "${products[@]}"; do
    "$SWIFT" build "${flags[@]}" --product "$product" >&2
done
bin=$("$SWIFT" build "${flags[@]}" --show-bin-path)
for product in "${products[@]}"; do echo "$bin/$product"; done
