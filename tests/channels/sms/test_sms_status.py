"""Twilio status callbacks translate to forward-only delivery reports."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from channels.base import InvalidPayload
from channels.sms.adapter import TwilioSmsAdapter

FORM = "application/x-www-form-urlencoded"
BASE = {
    "AccountSid": "AC00000000000000000000000000000000",
    "From": "+16502530000",
    "To": "+16505550134",
    "MessageSid": "SM0f1e2d3c4b5a69788796a5b4c3d2e1f0",
    "SmsSid": "SM0f1e2d3c4b5a69788796a5b4c3d2e1f0",
    "ApiVersion": "2010-04-01",
}


@pytest.mark.parametrize(
    "twilio,ours",
    [
        ("queued", "queued"),
        ("accepted", "queued"),
        ("sending", "sending"),
        ("sent", "sent"),
        ("delivered", "delivered"),
        ("read", "read"),
        ("undelivered", "undelivered"),
        ("failed", "failed"),
        ("canceled", "failed"),
    ],
)
def test_statuses(twilio, ours):
    report = TwilioSmsAdapter().parse_status(urlencode({**BASE, "MessageStatus": twilio}).encode(), FORM)
    assert report.status == ours and report.provider_message_id == BASE["MessageSid"] and report.message_seq is None


def test_opted_out_recipient_error_is_kept():
    body = urlencode(
        {
            **BASE,
            "MessageStatus": "failed",
            "ErrorCode": "21610",
            "ErrorMessage": "Attempt to send to unsubscribed recipient",
        }
    ).encode()
    report = TwilioSmsAdapter().parse_status(body, FORM)
    assert (report.status, report.error_code) == ("failed", "21610")


@pytest.mark.parametrize(
    "fields,words",
    [
        ({"MessageStatus": "exploded"}, "unknown MessageStatus"),
        ({"MessageStatus": ""}, "missing MessageStatus"),
    ],
)
def test_bad_callbacks_are_refused(fields, words):
    with pytest.raises(InvalidPayload) as refused:
        TwilioSmsAdapter().parse_status(urlencode({**BASE, **fields}).encode(), FORM)
    assert words in str(refused.value)
    with pytest.raises(InvalidPayload):
        TwilioSmsAdapter().parse_status(b"MessageStatus=sent", FORM)  # no sid at all


def test_outbound_form_keeps_every_media_url():
    from channels.sms.adapter import OutboundSms, render_send
    from hub.outbox.senders import _form

    path, fields = render_send(
        "AC1", "+16502530000", OutboundSms("+16505550134", "hi", ("https://a/1", "https://a/2")), None
    )
    assert path == "/2010-04-01/Accounts/AC1/Messages.json"
    assert _form(fields) == {
        "To": "+16505550134",
        "From": "+16502530000",
        "Body": "hi",
        "MediaUrl": ["https://a/1", "https://a/2"],
    }
