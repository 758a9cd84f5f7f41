"""Measure reply stripping (what staff are shown of a patient's email) on tables of reply shapes.

    .venv/bin/python bench/email_replies.py                                       # dev.toml and heldout.toml
    .venv/bin/python bench/email_replies.py tests/data/email_replies/heldout.toml

A table is TOML with `[[case]]` rows (see tests/data/email_replies/dev.toml). Each case's body is
made a real message (text/plain, or text/html when the case gives `html`) and parsed by
`channels.email.mime.parse_mime`, as the hub parses every inbound mail; the text it would show is
compared with the case's `shown` (or the whole body, for `keep_all`), ignoring blank lines and
trailing spaces. For each table this prints the score per shape and per language, and for each
miss whether the patient's words were LOST (a line of the expected text missing: the grave error)
or history was LEFT IN (every expected line there, plus more).

It is a report: the exit status is always 0.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from collections import defaultdict
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TABLES = ROOT / "tests" / "data" / "email_replies"
DEFAULT_TABLES = [TABLES / "dev.toml", TABLES / "heldout.toml"]


def lines(text: str) -> list[str]:
    """The text's non-blank lines, without trailing spaces: what the comparison looks at."""
    return [line.rstrip() for line in text.strip().splitlines() if line.strip()]


def raw_mail(case: dict) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Patient <patient@example.org>"
    msg["To"] = "care@clinic.test"
    msg["Subject"] = case.get("subject", "Re: Your appointment")
    msg["Message-ID"] = f"<{case['name']}@example.org>"
    if "html" in case:
        msg.set_content(case["html"], subtype="html", cte="8bit")
    else:
        msg.set_content(case["text"], cte="8bit")
    return bytes(msg)


def expected(case: dict) -> str:
    if case.get("keep_all"):
        return case.get("text") or case["html"]
    return case["shown"]


def shown(case: dict, parse_mime) -> str:  # noqa: ANN001 - the parser under test
    return parse_mime(raw_mail(case)).text


def verdict(want: list[str], got: list[str]) -> str:
    if want == got:
        return "ok"
    return "LOST" if any(line not in got for line in want) else "LEFT IN"


def _report(path: Path, parse_mime) -> None:  # noqa: ANN001
    print(f"\n=== {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} ===")
    cases = tomllib.loads(path.read_text(encoding="utf-8")).get("case", [])
    by_shape: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_lang: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    misses = []
    for case in cases:
        if "html" in case and case.get("keep_all"):
            from channels.email.html import html_to_text

            want = lines(html_to_text(case["html"])[0])
        else:
            want = lines(expected(case))
        got = lines(shown(case, parse_mime))
        v = verdict(want, got)
        for tally in (by_shape[case.get("shape", "?")], by_lang[case.get("lang", "?")]):
            tally[1] += 1
            tally[0] += v == "ok"
        if v != "ok":
            misses.append((case, v, got))
    ok = sum(t[0] for t in by_shape.values())
    lost = sum(1 for _, v, _ in misses if v == "LOST")
    left = len(misses) - lost
    print(f"  {ok}/{len(cases)} shown as expected; {lost} lost the patient's words; {left} left history in")
    print("  by shape: " + ", ".join(f"{k} {v[0]}/{v[1]}" for k, v in sorted(by_shape.items())))
    print("  by language: " + ", ".join(f"{k} {v[0]}/{v[1]}" for k, v in sorted(by_lang.items())))
    for case, v, got in misses:
        print(f"  - {v}: {case['name']} ({case.get('client', '?')})")
        for line in got:
            print(f"      | {line}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("tables", nargs="*", type=Path, help="TOML tables (default: dev and held-out)")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from channels.email.mime import parse_mime

    for path in args.tables or DEFAULT_TABLES:
        _report(path, parse_mime)
    return 0


if __name__ == "__main__":
    sys.exit(main())
