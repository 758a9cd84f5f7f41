"""gettext catalogs: every marked string is extracted and translated in every locale, in both
domains: `puente` (the server's messages) and `web` (the inbox's, marked in web/strings.js)."""

from __future__ import annotations

import re
import string
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from hub.i18n import LOCALES, SUPPORTED, translate
from tests.support.paths import ROOT

# domain -> (babel config in locales/, what is extracted), as `make catalogs` does it
DOMAINS = {
    "puente": ("babel.cfg", ["hub", "channels"]),
    "web": ("babel-web.cfg", ["web"]),
}


def _catalog(path: Path, locale: str | None = None):
    with path.open("rb") as f:
        return read_po(f, locale=locale)


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_marked_string_is_in_the_template(tmp_path, domain):
    """Extract afresh with babel's standard tooling: the committed template must match."""
    config, sources = DOMAINS[domain]
    fresh = tmp_path / "fresh.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            str(LOCALES / config),
            "-k",
            "_",
            "-k",
            "_p:1c,2",
            "--no-location",
            "--sort-output",
            "-o",
            str(fresh),
            *sources,
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    fresh_ids = {(m.context, m.id) for m in _catalog(fresh) if m.id}
    assert fresh_ids == {(m.context, m.id) for m in _catalog(LOCALES / f"{domain}.pot") if m.id}


@pytest.mark.parametrize("locale", SUPPORTED)
@pytest.mark.parametrize("domain", DOMAINS)
def test_every_message_has_a_translation(domain, locale):
    template = {(m.context, m.id) for m in _catalog(LOCALES / f"{domain}.pot") if m.id}
    catalog = _catalog(LOCALES / locale / "LC_MESSAGES" / f"{domain}.po", locale)
    missing = [m.id for m in catalog if m.id and (not m.string or m.fuzzy)]
    assert template and not missing, f"untranslated in {locale}: {missing}"
    assert template <= {(m.context, m.id) for m in catalog if m.id}
    # a translation keeps the message's placeholders
    for m in catalog:
        if m.id and m.string:
            assert sorted(_fields(m.id)) == sorted(_fields(m.string)), m.id


def _fields(s: str) -> list[str]:
    return [f for _, f, _, _ in string.Formatter().parse(s) if f]


def test_every_inbox_string_is_marked():
    """A value in web/strings.js's table that is not wrapped in _() would never be extracted."""
    source = (ROOT / "web" / "strings.js").read_text(encoding="utf-8")
    table = source[source.index("const MESSAGES = {") : source.index("\n};", source.index("const MESSAGES = {"))]
    entries = re.findall(r'^\s*"([\w.]+)":\s*(.+?),?$', table, flags=re.M)
    assert len(entries) > 100
    for key, value in entries:
        literals = re.findall(r'"(?:[^"\\]|\\.)*"', value)
        marked = re.findall(r'_\("(?:[^"\\]|\\.)*"\)|_p\("(?:[^"\\]|\\.)*", "(?:[^"\\]|\\.)*"\)', value)
        literals = [
            lit for lit in literals if not re.search(r"_p\(" + re.escape(lit), value)
        ]  # a context is no message
        assert literals and len(literals) == len(marked), f"{key} is not marked with _(): {value}"


def test_every_key_the_inbox_uses_exists():
    """t("some.key") with no entry in web/strings.js would show the key itself to the user."""
    source = (ROOT / "web" / "strings.js").read_text(encoding="utf-8")
    keys = set(re.findall(r'^\s*"([\w.]+)":', source, flags=re.M))
    inbox = [p for p in (ROOT / "web").glob("*.js") if p.name != "widget.js"]  # the widget has the hub's strings
    used = {key for p in inbox for key in re.findall(r'\bt[n]?\("([\w.]+)"', p.read_text(encoding="utf-8"))}
    assert used and not sorted(used - keys)
    prefixes = {pre for p in inbox for pre in re.findall(r"\bt\(`([\w.]+\.)\$\{", p.read_text(encoding="utf-8"))}
    assert all(any(k.startswith(pre) for k in keys) for pre in prefixes), prefixes


def test_refusals_follow_the_request_language(hub_server, staff):
    assert translate("es", "No patient {id} that you can see.", id=7) == "No hay ningún paciente 7 que usted pueda ver."
    ben = staff["ben"]
    r = ben.get("/api/patients/999999", headers={"accept-language": "es-MX,es;q=0.9,en;q=0.5"})
    assert r.status_code == 404 and r.json()["detail"] == "No hay ningún paciente 999999 que usted pueda ver."
    r = ben.get("/api/patients/999999", headers={"accept-language": "fr, en;q=0.8"})
    assert r.json()["detail"] == "No patient 999999 that you can see."
    r = ben.get("/api/audit", headers={"accept-language": "es"})
    assert r.status_code == 403 and r.json()["detail"] == "Esto requiere un administrador."
