"""Reply stripping on the table of real reply shapes (tests/data/email_replies/dev.toml): each
body made a real message and parsed as the hub parses inbound mail; staff are shown exactly the
expected text (blank lines aside). heldout.toml is measured by bench/email_replies.py, not here:
it is not to be tuned on."""

from __future__ import annotations

import tomllib

import pytest

from bench.email_replies import expected, lines, raw_mail
from channels.email.html import html_to_text
from channels.email.mime import parse_mime
from tests.support.paths import DATA

DEV = tomllib.loads((DATA / "email_replies" / "dev.toml").read_text(encoding="utf-8"))
CASES = DEV["case"]


def _want(case: dict) -> list[str]:
    if "html" in case and case.get("keep_all"):
        return lines(html_to_text(case["html"])[0])
    return lines(expected(case))


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_reply_shape_shows_the_patients_words(case: dict) -> None:
    parsed = parse_mime(raw_mail(case))
    got = lines(parsed.text)
    want = _want(case)
    assert [line for line in want if line not in got] == [], "the patient's words were hidden"
    assert got == want
    assert parsed.quote_stripped == (got != _want({**case, "keep_all": True, "shown": ""}))


def test_the_table_covers_the_shapes_and_both_languages() -> None:
    assert {c["shape"] for c in CASES} >= {"top", "bottom", "inline", "prose", "signature", "plain", "forward"}
    assert {c["lang"] for c in CASES} == {"en", "es"}
    names = [c["name"] for c in CASES]
    assert len(names) == len(set(names))
