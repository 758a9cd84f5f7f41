"""gettext catalogs: every marked string is extracted and translated in every locale."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from hub.i18n import LOCALES, SUPPORTED, translate

ROOT = Path(__file__).resolve().parent.parent


def _catalog(path: Path, locale: str | None = None):
    with path.open("rb") as f:
        return read_po(f, locale=locale)


def test_every_marked_string_is_in_the_template(tmp_path):
    """Extract afresh with babel's standard tooling: the committed template must match."""
    fresh = tmp_path / "fresh.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            str(LOCALES / "babel.cfg"),
            "-k",
            "_",
            "--no-location",
            "--sort-output",
            "-o",
            str(fresh),
            "hub",
            "channels",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    assert {m.id for m in _catalog(fresh) if m.id} == {m.id for m in _catalog(LOCALES / "puente.pot") if m.id}


@pytest.mark.parametrize("locale", SUPPORTED)
def test_every_message_has_a_translation(locale):
    template = {m.id for m in _catalog(LOCALES / "puente.pot") if m.id}
    catalog = _catalog(LOCALES / locale / "LC_MESSAGES" / "puente.po", locale)
    missing = [m.id for m in catalog if m.id and (not m.string or m.fuzzy)]
    assert template and not missing, f"untranslated in {locale}: {missing}"
    assert template <= {m.id for m in catalog if m.id}
    # a translation keeps the message's placeholders
    for m in catalog:
        if m.id and m.string:
            assert sorted(_fields(m.id)) == sorted(_fields(m.string)), m.id


def _fields(s: str) -> list[str]:
    import string

    return [f for _, f, _, _ in string.Formatter().parse(s) if f]


def test_refusals_follow_the_request_language(hub_server, staff):
    assert translate("es", "No patient {id} that you can see.", id=7) == "No hay ningún paciente 7 que usted pueda ver."
    ben = staff["ben"]
    r = ben.get("/api/patients/999999", headers={"accept-language": "es-MX,es;q=0.9,en;q=0.5"})
    assert r.status_code == 404 and r.json()["detail"] == "No hay ningún paciente 999999 que usted pueda ver."
    r = ben.get("/api/patients/999999", headers={"accept-language": "fr, en;q=0.8"})
    assert r.json()["detail"] == "No patient 999999 that you can see."
    r = ben.get("/api/audit", headers={"accept-language": "es"})
    assert r.status_code == 403 and r.json()["detail"] == "Esto requiere un administrador."
