#!/usr/bin/env python3
"""Writes the lean guest's link order (lld --symbol-ordering-file) from two callgrind profiles.

    guest-symbol-order.py LIVE.callgrind ALL.callgrind BINARY_NAME > scripts/guest-symbol-order.txt

LIVE: a run collected only inside the live loop (`--toggle-collect` on `GuestRunner.runLive`);
ALL: the whole run (start-up included). The functions of BINARY_NAME that ran inside the loop come
first, by self cost (the code that stays hot for the daemon's life sits together), then every other
function start-up ran. The linker places them in that order, so what runs occupies a few dense pages
instead of one 4 KiB page (and the kernel's fault-around neighbours) per function scattered over
20 MB of statically linked text. Names are the mangled ones (valgrind --demangle=no).
"""
import collections
import re
import sys


def functions(path, binary):
    """(function name → self cost) of the functions whose object ends with `binary`, from a callgrind file."""
    names = {"ob": {}, "fn": {}}
    current_object = current_function = None
    skip_call_cost = False
    cost = collections.Counter()
    owner = {}

    def resolve(kind, text):
        m = re.match(r"\((\d+)\)(?: (.*))?$", text)
        if not m:
            return text
        if m.group(2) is not None:
            names[kind][m.group(1)] = m.group(2)
        return names[kind].get(m.group(1), "?")

    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("ob="):
                current_object = resolve("ob", line[3:])
            elif line.startswith("fn="):
                current_function = resolve("fn", line[3:])
                owner[current_function] = current_object
            elif line.startswith("cob="):
                resolve("ob", line[4:])
            elif line.startswith("cfn="):
                resolve("fn", line[4:])
            elif line.startswith("calls="):
                skip_call_cost = True  # the next cost line is the call's inclusive cost, not self cost
            elif line[:1].isdigit() or line[:1] in "+-*":
                if skip_call_cost:
                    skip_call_cost = False
                    continue
                fields = line.split()
                if len(fields) >= 2 and current_function is not None:
                    cost[current_function] += int(fields[1])
    return {name: cost[name] for name, obj in owner.items() if obj and obj.endswith(binary)}


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    live = functions(sys.argv[1], sys.argv[3])
    everything = functions(sys.argv[2], sys.argv[3])
    if not live or not everything:
        sys.exit(f"no function of {sys.argv[3]} in the profiles (wrong binary name, or valgrind read no symbols?)")
    ordered = sorted(live, key=lambda n: -live[n])
    ordered += sorted((n for n in everything if n not in live), key=lambda n: -everything[n])
    sys.stdout.write("\n".join(ordered) + "\n")
    print(f"{len(live)} functions in the live loop, {len(ordered)} in all", file=sys.stderr)


if __name__ == "__main__":
    main()
