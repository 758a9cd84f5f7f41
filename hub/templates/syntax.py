"""Template text is ICU MessageFormat: named placeholders ({patient_first_name}) and plural
or select forms ({days, plural, one {# day} other {# days}}), parsed by pyicumessageformat.

`parse` refuses broken syntax with the position where it broke; `check` finds what parses but
cannot be right (a placeholder nobody knows, a plural on a name, a missing `other`).
"""

from __future__ import annotations

import re
from typing import Any

from pyicumessageformat import Parser

from channels.base import PuenteError
from hub.i18n import _
from hub.refusals import Problem
from hub.templates.placeholders import NUMERIC, PLACEHOLDERS

Node = str | dict[str, Any]

_parser = Parser({"include_indices": True, "maximum_depth": 8})
_POSITION = re.compile(r"at position (\d+)")


class BrokenSyntax(PuenteError, ValueError):
    """`code`: "missing_other" for a plural or select without its required `other` form,
    else "syntax"; `detail` is the parser's own (English) words."""

    def __init__(self, position: int | None, detail: str, code: str = "syntax") -> None:
        super().__init__(detail)
        self.position, self.detail, self.code = position, detail, code


def parse(text: str) -> list[Node]:
    try:
        return _parser.parse(text)
    except SyntaxError as exc:
        found = _POSITION.search(str(exc))
        code = "missing_other" if "sub-message other" in str(exc) else "syntax"
        raise BrokenSyntax(int(found.group(1)) if found else None, str(exc), code) from None
    except RecursionError:
        raise BrokenSyntax(None, "nested too deeply") from None


def names(nodes: list[Node]) -> set[str]:
    """Every placeholder a parsed text uses, at any depth."""
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, dict):
            if "name" in node and not node.get("hash"):
                found.add(node["name"])
            for option in (node.get("options") or {}).values():
                found |= names(option)
    return found


def check(nodes: list[Node]) -> list[Problem]:
    problems: list[Problem] = []
    for node in nodes:
        if not isinstance(node, dict) or node.get("hash"):
            continue
        name, kind = node["name"], node.get("type")
        at = node.get("start")
        placeholder = PLACEHOLDERS.get(name)
        if placeholder is None:
            problems.append(
                Problem(
                    "unknown_placeholder",
                    _("There is no placeholder {{{name}}}."),
                    {"name": name},
                    where={"position": at},
                )
            )
        if kind in ("plural", "selectordinal"):
            if placeholder is not None and placeholder.kind not in NUMERIC:
                problems.append(
                    Problem(
                        "plural_needs_number",
                        _("{{{name}}} is not a number, so it cannot choose plural forms."),
                        {"name": name},
                        where={"position": at},
                    )
                )
        elif kind not in (None, "select"):
            problems.append(
                Problem(
                    "formatted_argument",
                    _("Write {{{name}}} alone: each placeholder is formatted for the reader's language already."),
                    {"name": name},
                    where={"position": at},
                )
            )
        for option in (node.get("options") or {}).values():
            problems += check(option)
    return problems
