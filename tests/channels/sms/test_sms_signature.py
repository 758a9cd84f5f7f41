"""Twilio signatures, against the published test vector and its variants."""

from __future__ import annotations

import hashlib

import pytest

from channels.sms.signature import compute, is_valid

TOKEN = "12345"
URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
PARAMS = [
    ("CallSid", "CA1234567890ABCDE"),
    ("Caller", "+14158675309"),
    ("Digits", "1234"),
    ("From", "+14158675309"),
    ("To", "+18005551212"),
]


def test_the_published_vectors():
    assert compute(TOKEN, URL, PARAMS) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    assert compute(TOKEN, "https://mycompany.com:443/myapp.php?foo=1&bar=2", PARAMS) == "kvajT1Ptam85bY51eRf/AJRuM3w="


@pytest.mark.parametrize(
    "signed_url,requested_url",
    [
        (URL, URL),
        (URL, "https://mycompany.com:443/myapp.php?foo=1&bar=2"),  # the proxy added the default port
        ("https://mycompany.com:443/myapp.php?foo=1&bar=2", URL),  # or removed it
    ],
)
def test_default_port_variants_validate(signed_url, requested_url):
    assert is_valid(TOKEN, compute(TOKEN, signed_url, PARAMS), requested_url, PARAMS)


def test_parameter_order_does_not_matter_but_content_does():
    sig = compute(TOKEN, URL, PARAMS)
    assert is_valid(TOKEN, sig, URL, list(reversed(PARAMS)))
    assert not is_valid(TOKEN, sig, URL, [*PARAMS[:-1], ("To", "+18005551213")])
    assert not is_valid(TOKEN, sig, URL + "&baz=3", PARAMS)
    assert not is_valid(TOKEN, sig, "https://mycompany.com:8443/myapp.php?foo=1&bar=2", PARAMS)
    assert not is_valid("54321", sig, URL, PARAMS)
    assert not is_valid(TOKEN, None, URL, PARAMS) and not is_valid(TOKEN, "", URL, PARAMS)


def test_repeated_names_sign_each_distinct_value_sorted():
    params = [("MediaUrl", "b"), ("MediaUrl", "a"), ("Body", "hi")]
    assert compute(TOKEN, URL, params) == compute(TOKEN, URL, [("Body", "hi"), ("MediaUrl", "a"), ("MediaUrl", "b")])


def test_json_bodies_are_signed_by_their_hash_in_the_url():
    body = b'{"MessageSid": "SM123", "MessageStatus": "delivered"}'
    url = f"https://hub.example.org/api/channels/sms/status?bodySHA256={hashlib.sha256(body).hexdigest()}"
    sig = compute(TOKEN, url)
    assert is_valid(TOKEN, sig, url, body=body)
    assert not is_valid(TOKEN, sig, url, body=body + b" ")  # a body that does not match its hash
