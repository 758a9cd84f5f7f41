"""Summarise a py-spy `--format raw` (collapsed stacks) profile: where the server's CPU goes.

    .venv/bin/python bench/profile_summary.py bench/results/profile_ingest.txt [--top 30]

Prints, per function (file:function, line numbers dropped), the share of samples in which it
is on the stack (inclusive) and at the top of the stack (self).
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")
_PREFIXES = ("/work/main/", "site-packages/", "lib/python3.11/")


def _short(frame: str) -> str:
    m = _FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    file = m.group("file")
    for p in _PREFIXES:
        if p in file:
            file = file.split(p, 1)[1]
    return f"{file}:{m.group('func')}"


def _package(frame: str) -> str:
    """'sqlalchemy/orm/session.py:Session.execute' -> 'sqlalchemy/orm'; special cases named."""
    file, _, func = frame.partition(":")
    if file == "aiosqlite/core.py" and func == "_connection_worker_thread":
        return "sqlite3 C library, in aiosqlite's thread (queries, commits, fsync)"
    if file == "asyncio/runners.py":
        return "event loop internals (uvloop C: sockets, callbacks)"
    parts = file.split("/")
    if parts[0] in ("hub", "channels", "litestar", "sqlalchemy", "uvicorn"):
        return "/".join(parts[:2]) if len(parts) > 2 else parts[0]
    return parts[0]


def summarize(path: Path, top: int = 30) -> str:
    inclusive: Counter[str] = Counter()
    self_: Counter[str] = Counter()
    by_package: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines()[:2_000_000]:
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        count = int(n)
        frames = [_short(f) for f in stack.split(";") if f]
        # py-spy puts the thread/process header first when asked; keep Python frames only
        frames = [f for f in frames if ":" in f]
        if not frames:
            continue
        total += count
        for f in set(frames):
            inclusive[f] += count
        self_[frames[-1]] += count
        by_package[_package(frames[-1])] += count
    if not total:
        return f"{path}: no samples"
    out = [f"{path.name}: {total} samples (non-idle)", "", "  incl%  self%  function"]
    for f, c in inclusive.most_common(top):
        out.append(f"  {100 * c / total:5.1f}  {100 * self_[f] / total:5.1f}  {f}")
    out += ["", "  self time by package (where the CPU is actually spent):", "  self%  package"]
    for f, c in by_package.most_common(15):
        out.append(f"  {100 * c / total:5.1f}  {f}")
    out += ["", "  top self time:", "  self%  function"]
    for f, c in self_.most_common(top // 2):
        out.append(f"  {100 * c / total:5.1f}  {f}")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("profile", type=Path)
    ap.add_argument("--top", type=int, default=30)
    a = ap.parse_args()
    print(summarize(a.profile, a.top))


if __name__ == "__main__":
    main()
