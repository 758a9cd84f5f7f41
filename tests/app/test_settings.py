"""Settings from the environment: one variable per field, named after it; a former name still works;
a value that cannot be read says which variable and why; docs/configuration.md is what the classes say."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.settings import BadSetting, describe, load_settings
from tests.support.paths import ROOT


def _load(tmp_path: Path, **env: str):
    return load_settings({"PUENTE_DATA_DIR": str(tmp_path), **env})


def test_each_variable_is_named_after_its_field(tmp_path):
    s = _load(
        tmp_path,
        PUENTE_SMS_AUTH_TOKEN="tok",
        PUENTE_ROUTING_REALERT_S="30",
        PUENTE_CLINIC_LANGUAGES="en, es ,fr",
        PUENTE_BOT_ENABLED="0",
        PUENTE_OUTBOX_PROVIDER_TIMEOUT_S="2.5",
    )
    assert s.sms.auth_token == "tok" and s.routing.realert_s == 30
    assert s.clinic.languages == ("en", "es", "fr") and s.bot.enabled is False and s.outbox.provider_timeout_s == 2.5
    assert s.database.url == f"sqlite+aiosqlite:///{tmp_path / 'puente.db'}"  # the data folder's file
    assert s.security.secret and (tmp_path / "secret.key").exists()  # made once, kept


def test_a_former_name_still_works_and_the_new_one_wins(tmp_path):
    s = _load(tmp_path, PUENTE_TWILIO_AUTH_TOKEN="old", PUENTE_IDLE_TIMEOUT="60", PUENTE_DEMO="1")
    assert s.sms.auth_token == "old" and s.security.idle_timeout_s == 60 and s.server.demo is True
    s = _load(tmp_path, PUENTE_TWILIO_AUTH_TOKEN="old", PUENTE_SMS_AUTH_TOKEN="new")
    assert s.sms.auth_token == "new"


def test_the_demo_listens_for_mail_unless_told_otherwise(tmp_path):
    demo = _load(tmp_path, PUENTE_SERVER_DEMO="1")
    assert demo.email.listen_port == 2525 and demo.email.domains == ("clinic.example",)
    assert _load(tmp_path, PUENTE_SERVER_DEMO="1", PUENTE_EMAIL_LISTEN_PORT="0").email.listen_port == 0
    assert _load(tmp_path).email.listen_port == 0


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"PUENTE_SERVER_PORT": "eighty"}, "PUENTE_SERVER_PORT='eighty'"),
        ({"PUENTE_BOT_ENABLED": "maybe"}, "say 1 or 0"),
        ({"PUENTE_ROUTING_REALERT_S": "0"}, "at least 1"),
        ({"PUENTE_OUTBOX_RETRY_WINDOW": "5"}, "PUENTE_OUTBOX_RETRY_WINDOW=5: at least 60"),
    ],
)
def test_a_value_that_cannot_be_read_says_which_and_why(tmp_path, env, words):
    with pytest.raises(BadSetting, match=words.replace("(", r"\(")):
        _load(tmp_path, **env)


def test_the_configuration_page_is_generated_from_the_settings():
    page = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert page == describe(), "docs/configuration.md is stale: run `python -m hub.settings > docs/configuration.md`"
    assert "`PUENTE_SMS_AUTH_TOKEN`" in page and "`PUENTE_TWILIO_AUTH_TOKEN`" in page
