"""The hub's SMTP listener over TLS: STARTTLS offered when a certificate is configured, and,
when required, mail refused (530) from a sender that will not encrypt. Real SMTP on 127.0.0.1."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.email.service import listener_tls
from hub.settings import EmailSettings
from tests.support.mail import mail_settings, rows, send_mail, simple_mail
from tests.support.server import HubServer

PATIENT = "rosa@example.net"


@pytest.fixture
def tls_hub(tmp_path: Path, certificate: tuple[str, str], request: pytest.FixtureRequest) -> Iterator[HubServer]:
    cert, key = certificate
    srv = HubServer(
        mail_settings(tmp_path, tls_cert_file=cert, tls_key_file=key, require_tls=getattr(request, "param", False))
    ).start()
    yield srv
    srv.stop()


def _stored(srv: HubServer, message_id: str) -> int:
    return len(rows(srv.settings, "SELECT 1 FROM email_messages WHERE message_id = ?", message_id))


def test_starttls_is_offered_and_mail_over_it_is_stored(tls_hub: HubServer, certificate: tuple[str, str]) -> None:
    port = tls_hub.settings.email.listen_port
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.ehlo()
        assert smtp.has_extn("starttls")
    answer = send_mail(
        port, simple_mail(PATIENT, "Encrypted, please", "tls-1@example.net"), PATIENT, tls_ca=certificate[0]
    )
    assert answer.code == 250
    assert _stored(tls_hub, "tls-1@example.net") == 1
    # Not required here: a sender that cannot encrypt is still heard.
    assert send_mail(port, simple_mail(PATIENT, "Plain", "plain-1@example.net"), PATIENT).code == 250
    assert _stored(tls_hub, "plain-1@example.net") == 1


@pytest.mark.parametrize("tls_hub", [True], indirect=True)
def test_required_tls_refuses_plain_mail_and_stores_nothing(tls_hub: HubServer, certificate: tuple[str, str]) -> None:
    port = tls_hub.settings.email.listen_port
    plain = send_mail(port, simple_mail(PATIENT, "Plain", "plain-2@example.net"), PATIENT)
    assert plain.code == 530 and "STARTTLS" in plain.message
    assert _stored(tls_hub, "plain-2@example.net") == 0
    secure = send_mail(port, simple_mail(PATIENT, "Encrypted", "tls-2@example.net"), PATIENT, tls_ca=certificate[0])
    assert secure.code == 250
    assert _stored(tls_hub, "tls-2@example.net") == 1


def test_a_listener_without_a_usable_certificate_does_not_start_unencrypted(
    tmp_path: Path, certificate: tuple[str, str]
) -> None:
    assert listener_tls(EmailSettings()) is None  # nothing configured: plain SMTP, as before
    with pytest.raises(ValueError, match="REQUIRE_TLS needs"):
        listener_tls(EmailSettings(require_tls=True))
    with pytest.raises(ValueError, match="cannot be loaded"):
        listener_tls(EmailSettings(tls_cert_file=str(tmp_path / "missing.pem"), tls_key_file=certificate[1]))
    with pytest.raises(ValueError, match="cannot be loaded"):  # a key that is not this certificate's
        listener_tls(EmailSettings(tls_cert_file=certificate[0], tls_key_file=certificate[0]))
