"""Summarise a py-spy raw (collapsed) profile: total samples, the top functions by own and by inclusive
samples, and optionally the share under given frame substrings.

    python -m bench.profile_summary FILE [--top 30] [--under NAME ...]
"""
from __future__ import annotations

import argparse
from collections import Counter


def load(path: str) -> list[tuple[list[str], int]]:
    out = []
    for line in open(path, encoding="utf-8", errors="replace"):
        stack, _, count = line.rstrip("\n").rpartition(" ")
        if stack and count.isdigit():
            out.append((stack.split(";"), int(count)))
    return out


def short(frame: str) -> str:
    # "func (path/to/module.py:123)" -> "func (module.py)"
    name, _, where = frame.partition(" (")
    where = where.rstrip(")").rsplit("/", 1)[-1].split(":", 1)[0]
    return f"{name} ({where})"


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("file")
    p.add_argument("--top", type=int, default=30)
    p.add_argument("--under", nargs="*", default=[])
    args = p.parse_args()
    stacks = load(args.file)
    total = sum(c for _, c in stacks)
    own, incl = Counter(), Counter()
    for frames, count in stacks:
        own[short(frames[-1])] += count
        for f in set(short(f) for f in frames):
            incl[f] += count
    print(f"{total} samples")
    print("\n# own")
    for f, c in own.most_common(args.top):
        print(f"{100 * c / total:5.1f}%  {f}")
    print("\n# inclusive")
    for f, c in incl.most_common(args.top):
        print(f"{100 * c / total:5.1f}%  {f}")
    for name in args.under:
        c = sum(count for frames, count in stacks if any(name in f for f in frames))
        print(f"under {name!r}: {100 * c / total:.1f}%")


if __name__ == "__main__":
    main()
