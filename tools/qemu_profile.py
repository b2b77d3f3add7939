#!/usr/bin/env python3
"""Per-instruction profile of a Cortex-M firmware run under QEMU, from its execution trace.

QEMU has no profiler for system emulation, but `-d in_asm,exec,nochain` logs each translated
block's instructions once and each execution of a block: together they count how often every
instruction ran. Meant for short runs (examples/firmware's `profile-cost`: a few MB of log).

    cd examples/firmware && cargo build --release --bin profile-cost
    qemu-system-arm -cpu cortex-m4 -machine mps2-an386 -nographic \
        -semihosting-config enable=on,target=native -d in_asm,exec,nochain -D /tmp/trace.txt \
        -kernel target/thumbv7em-none-eabihf/release/profile-cost
    python3 tools/qemu_profile.py /tmp/trace.txt \
        examples/firmware/target/thumbv7em-none-eabihf/release/profile-cost --per 1024

prints the instructions run per function and then every instruction run at least `--min` times,
with its count divided by `--per` (the elements of the call: instructions per element).
"""

import argparse
import collections
import re
import subprocess


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("trace")
    ap.add_argument("elf")
    ap.add_argument("--per", type=float, default=1.0, help="divide counts by this (elements)")
    ap.add_argument("--min", type=int, default=100, help="list instructions run this often")
    args = ap.parse_args()

    # Translated blocks: "IN: ..." then one "0x<pc>: ..." line per instruction, then a blank line.
    block_pcs, current = {}, None
    executions = collections.Counter()
    with open(args.trace) as f:
        for line in f:
            if line.startswith("IN:"):
                current = []
                continue
            m = re.match(r"0x([0-9a-f]+):\s", line)
            if m and current is not None:
                current.append(int(m.group(1), 16))
                continue
            if not line.strip() and current:
                block_pcs[current[0]] = current
                current = None
                continue
            # "Trace 0: 0x<host> [<flags>/<pc>/...] symbol": one execution of the block at pc.
            m = re.match(r"Trace \d+: 0x[0-9a-f]+ \[[0-9a-f]+/([0-9a-f]+)/", line)
            if m:
                executions[int(m.group(1), 16)] += 1

    runs = collections.Counter()
    for pc, n in executions.items():
        for a in block_pcs.get(pc, [pc]):
            runs[a] += n

    listing = subprocess.run(
        ["arm-none-eabi-objdump", "-d", "--no-show-raw-insn", "-C", args.elf],
        capture_output=True, text=True, check=True,
    ).stdout
    insn, function = {}, "?"
    for line in listing.splitlines():
        m = re.match(r"([0-9a-f]+) <(.*)>:", line)
        if m:
            function = m.group(2)
            continue
        m = re.match(r"\s+([0-9a-f]+):\s+(.*)", line)
        if m:
            insn[int(m.group(1), 16)] = (function, m.group(2))

    per_function = collections.Counter()
    for a, n in runs.items():
        per_function[insn.get(a, ("?", ""))[0]] += n
    print(f"{sum(runs.values()) / args.per:10.2f}  total")
    for name, n in per_function.most_common(10):
        print(f"{n / args.per:10.2f}  {name}")
    print()
    for a in sorted(runs):
        if runs[a] >= args.min and a in insn:
            print(f"{runs[a] / args.per:8.2f}  {a:8x}  {insn[a][1][:80]}")


if __name__ == "__main__":
    main()
