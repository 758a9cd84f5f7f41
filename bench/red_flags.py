"""Measure the red-flag (emergency) detector on labelled tables of patient messages.

    .venv/bin/python bench/red_flags.py                                   # dev.toml (if any) and heldout.toml
    .venv/bin/python bench/red_flags.py tests/data/red_flags/heldout.toml

A table is TOML with `[[emergency]]` rows (lang, group, text) and `[[ordinary]]` rows (lang,
text). For each table this prints, separately: recall on emergencies per language and per group
(detected = at least one hit), the missed emergency texts, whether self-harm messages got a
first hit of category "self_harm" (they must be told 988, not 911), the false alarms on ordinary
messages per language with the phrase that fired, and the mean time of one `red_flags()` call.

It uses only the detector's public API (`SEED_RED_FLAGS`, `red_flags`). It is a report: the exit
status is always 0.
"""

from __future__ import annotations

import argparse
import sys
import time
import tomllib
import traceback
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TABLES = ROOT / "tests" / "data" / "red_flags"
DEFAULT_TABLES = [TABLES / "dev.toml", TABLES / "heldout.toml"]
REPEATS = 5


def _s(value: object) -> str:
    """An enum member's value, or the thing itself, as text."""
    return str(getattr(value, "value", value))


def _pct(n: int, d: int) -> str:
    return f"{100.0 * n / d:5.1f}%" if d else "   n/a"


def _hit_text(hits: list) -> str:
    return "; ".join(f"{_s(h.category)}: {_s(h.phrase)!r} (matched {_s(h.matched)!r}, {_s(h.language)})" for h in hits)


def _report(path: Path, red_flags, seeds) -> None:
    print(f"\n=== {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} ===")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        print(f"  cannot read table: {exc}")
        return
    emergencies = data.get("emergency", [])
    ordinary = data.get("ordinary", [])
    print(f"  {len(emergencies)} emergency rows, {len(ordinary)} ordinary rows")

    # --- emergencies -------------------------------------------------------------------------
    by_lang: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # lang -> [detected, total]
    by_group: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    missed: list[dict] = []
    sh_total = sh_hit = sh_right = 0
    sh_wrong: list[tuple[dict, list]] = []
    for row in emergencies:
        lang, group, text = row.get("lang", "?"), row.get("group", "?"), row.get("text", "")
        hits = red_flags(text, seeds)
        ok = bool(hits)
        for key, table in ((lang, by_lang), ((lang, group), by_group), (("all", group), by_group)):
            table[key][0] += ok
            table[key][1] += 1
        if not ok:
            missed.append(row)
        if group == "self_harm":
            sh_total += 1
            if hits:
                sh_hit += 1
                if _s(hits[0].category) == "self_harm":
                    sh_right += 1
                else:
                    sh_wrong.append((row, hits))

    total_det = sum(v[0] for v in by_lang.values())
    total = sum(v[1] for v in by_lang.values())
    print("\n  Recall on emergencies")
    print(f"    all : {total_det:4d}/{total:<4d} {_pct(total_det, total)}")
    for lang in sorted(by_lang):
        d, n = by_lang[lang]
        print(f"    {lang:4s}: {d:4d}/{n:<4d} {_pct(d, n)}")
    langs = sorted(by_lang)
    groups = sorted({g for (_, g) in by_group})
    print("\n  Recall per group" + "".join(f"  {lang:>16s}" for lang in langs + ["all"]))
    for g in groups:
        cells = []
        for lang in langs + ["all"]:
            d, n = by_group.get((lang, g), (0, 0))
            cells.append(f"{d:3d}/{n:<3d} {_pct(d, n)}" if n else f"{'-':>16s}")
        print(f"    {g:13s}" + "".join(f"  {c:>16s}" for c in cells))

    print(f"\n  Missed emergencies ({len(missed)})")
    for row in missed:
        print(f"    [{row.get('lang', '?')}/{row.get('group', '?')}] {row.get('text', '')}")

    print(
        f"\n  Self-harm routing (988): {sh_right}/{sh_total} self_harm messages got a first hit of"
        f" category self_harm ({sh_hit} got any hit; {sh_total - sh_hit} missed, listed above)"
    )
    for row, hits in sh_wrong:
        print(f"    WRONG first category [{row.get('lang', '?')}] {row.get('text', '')}")
        print(f"        -> {_hit_text(hits)}")

    # --- ordinary ----------------------------------------------------------------------------
    fa_lang: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    alarms: list[tuple[dict, list]] = []
    for row in ordinary:
        lang, text = row.get("lang", "?"), row.get("text", "")
        hits = red_flags(text, seeds)
        fa_lang[lang][0] += bool(hits)
        fa_lang[lang][1] += 1
        if hits:
            alarms.append((row, hits))
    fa = sum(v[0] for v in fa_lang.values())
    n_ord = sum(v[1] for v in fa_lang.values())
    print("\n  False alarms on ordinary messages")
    print(f"    all : {fa:4d}/{n_ord:<4d} {_pct(fa, n_ord)}")
    for lang in sorted(fa_lang):
        d, n = fa_lang[lang]
        print(f"    {lang:4s}: {d:4d}/{n:<4d} {_pct(d, n)}")
    for row, hits in alarms:
        print(f"    [{row.get('lang', '?')}] {row.get('text', '')}")
        print(f"        -> {_hit_text(hits)}")

    # --- timing ------------------------------------------------------------------------------
    texts = [r.get("text", "") for r in emergencies + ordinary]
    if texts:
        for t in texts:  # warm-up (caches, lazy compilation)
            red_flags(t, seeds)
        best = []
        for _ in range(REPEATS):
            t0 = time.perf_counter()
            for t in texts:
                red_flags(t, seeds)
            best.append((time.perf_counter() - t0) / len(texts))
        mean = sum(best) / len(best)
        print(
            f"\n  Time per red_flags() call: mean {mean * 1e6:.1f} us, best {min(best) * 1e6:.1f} us"
            f" ({len(texts)} messages x {REPEATS} repeats)"
        )

    print(
        f"\n  SUMMARY {path.name}: recall "
        + ", ".join(f"{lang} {_pct(*by_lang[lang]).strip()}" for lang in langs)
        + f", all {_pct(total_det, total).strip()}; self_harm->988 {sh_right}/{sh_total}; false alarms "
        + ", ".join(f"{lang} {fa_lang[lang][0]}/{fa_lang[lang][1]}" for lang in sorted(fa_lang))
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("tables", nargs="*", type=Path, help="TOML tables (default: dev.toml if present, heldout.toml)")
    args = ap.parse_args(argv)
    paths = [p.resolve() for p in args.tables] or [p for p in DEFAULT_TABLES if p.exists()]
    if not paths:
        print("no tables found (looked for " + ", ".join(str(p) for p in DEFAULT_TABLES) + ")")
        return 0
    sys.path.insert(0, str(ROOT))
    try:
        from hub.bot.understand import SEED_RED_FLAGS, red_flags
    except Exception as exc:  # a report never fails the caller
        print(f"cannot import the detector: {exc!r}")
        return 0
    for path in paths:
        try:
            _report(path, red_flags, SEED_RED_FLAGS)
        except Exception:  # report the failure, go on with the next table
            traceback.print_exc()
    return 0


if __name__ == "__main__":
    main()
    sys.exit(0)
