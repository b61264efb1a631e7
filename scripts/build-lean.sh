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
# - each of our functions in its own section, laid out in the order of scripts/guest-symbol-order.txt
#   (what the guest's loop and start-up run, from a callgrind profile: scripts/guest-symbol-order.sh):
#   the code that runs shares a few dense pages, which takes the guest from 20.8 to about 17 MB
#   resident (docs/PERFORMANCE.md, "Guest: one layout for the code that runs"). The collector's own
#   functions are not in the list and keep the linker's order.
flags+=(-Xswiftc -Xfrontend -Xswiftc -function-sections)
if [ -f scripts/guest-symbol-order.txt ]; then
    flags+=(-Xlinker --symbol-ordering-file="$PWD/scripts/guest-symbol-order.txt" -Xlinker --no-warn-symbol-ordering)
fi
for product in "${products[@]}"; do
    "$SWIFT" build "${flags[@]}" --product "$product" >&2
done
bin=$("$SWIFT" build "${flags[@]}" --show-bin-path)
for product in "${products[@]}"; do echo "$bin/$product"; done
