"""The tooltip on each figure of the reports screen says what docs/kpis.md says, word for word."""

from __future__ import annotations

import re

from tests.support.paths import ROOT as REPO

STRINGS = (REPO / "web" / "strings.js").read_text(encoding="utf-8")
DOC = (REPO / "docs" / "kpis.md").read_text(encoding="utf-8")


def test_every_tooltip_is_a_definition_in_the_docs():
    tooltips = dict(re.findall(r'"kpi\.def\.(\w+)": _\("((?:[^"\\]|\\.)*)"\)', STRINGS))
    cards = re.findall(r'"kpi\.def\.(\w+)"\]', (REPO / "web" / "reports-view.js").read_text(encoding="utf-8"))
    assert len(tooltips) == 15 and sorted(cards) == sorted(tooltips)  # every card has one, each is used
    bold = set(re.findall(r"\| `\w+` \| \*\*(.+?)\*\*", DOC))
    assert {k: v for k, v in tooltips.items() if v not in bold} == {}
