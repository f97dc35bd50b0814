"""Summarise a py-spy ``--format raw`` profile: where the samples are, by function and by file.

    python bench/flame_summary.py profile.txt [--top 30]
"""

from __future__ import annotations

import argparse
import collections
import re
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^():]+)(?::(?P<line>\d+))?\)$")


def _split(frame: str) -> tuple[str, str]:
    m = _FRAME.match(frame.strip())
    if not m:
        return frame.strip(), "?"
    file = m.group("file")
    for marker in ("site-packages/", "src/", "lib/python3.11/"):
        if marker in file:
            file = file.split(marker, 1)[1]
            break
    return m.group("func"), file


def summarise(path: Path, top: int) -> str:
    self_fn: collections.Counter[str] = collections.Counter()
    incl_fn: collections.Counter[str] = collections.Counter()
    self_file: collections.Counter[str] = collections.Counter()
    incl_file: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        total += n
        frames = [_split(f) for f in stack.split(";")]
        func, file = frames[-1]
        self_fn[f"{func} ({file})"] += n
        self_file[file] += n
        for key in {f"{fn} ({fl})" for fn, fl in frames}:
            incl_fn[key] += n
        for fl in {fl for _, fl in frames}:
            incl_file[fl] += n
    out = [f"{total} samples"]
    for title, counter in (("self time by file", self_file), ("self time by function", self_fn),
                           ("inclusive time by function", incl_fn),
                           ("inclusive time by file", incl_file)):
        out.append(f"\n## {title}")
        for key, n in counter.most_common(top):
            out.append(f"{100 * n / total:6.1f}%  {key}")
    return "\n".join(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("profile", type=Path)
    p.add_argument("--top", type=int, default=30)
    args = p.parse_args()
    print(summarise(args.profile, args.top))


if __name__ == "__main__":
    main()
