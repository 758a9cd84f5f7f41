"""The channel contract: every adapter, every fixture of real payloads, no I/O.

A fixture is tests/channels/fixtures/<channel>/<case>.json with `content_type`, the payload as
`body` (JSON), `raw` (text) or `raw_base64` (bytes in any charset: raw mail), optionally the
`sender` the hub authenticated (web chat), and either `expect` (the normalised messages) or
`error` (words the refusal must contain). Every registered adapter must have fixtures of both kinds.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import msgspec
import pytest

from channels.base import ChannelAdapter, InboundMessage, InvalidPayload, Sender
from channels.registry import ALL as ADAPTERS

FIXTURES = Path(__file__).parent / "fixtures"
CASES = sorted(FIXTURES.glob("*/*.json"))


def _payload(case: dict) -> bytes:
    if "raw_base64" in case:
        return base64.b64decode(case["raw_base64"])
    return case["raw"].encode() if "raw" in case else json.dumps(case["body"]).encode()


def _parse(adapter: ChannelAdapter, case: dict) -> list[InboundMessage]:
    sender = msgspec.convert(case["sender"], Sender) if "sender" in case else None
    return adapter.parse_inbound(_payload(case), case["content_type"], sender)


@pytest.mark.parametrize("path", CASES, ids=[f"{p.parent.name}/{p.stem}" for p in CASES])
def test_fixture(path: Path) -> None:
    case = json.loads(path.read_text())
    adapter = ADAPTERS[path.parent.name]
    if "error" in case:
        with pytest.raises(InvalidPayload) as refused:
            _parse(adapter, case)
        assert case["error"] in str(refused.value)
    else:
        got = _parse(adapter, case)
        assert all(isinstance(m, InboundMessage) for m in got)
        assert msgspec.to_builtins(got) == case["expect"]


@pytest.mark.parametrize("name", sorted(ADAPTERS))
def test_every_adapter_is_typed_and_has_fixtures_of_both_kinds(name: str) -> None:
    adapter = ADAPTERS[name]
    assert isinstance(adapter, ChannelAdapter) and adapter.channel == name
    kinds = {("error" in json.loads(p.read_text())) for p in (FIXTURES / name).glob("*.json")}
    assert kinds == {True, False}, f"{name} needs fixtures that parse and fixtures that are refused"


def test_adapters_are_pure() -> None:
    """Same bytes in, same messages out, and the input is not touched."""
    for name, adapter in ADAPTERS.items():
        for path in (FIXTURES / name).glob("*.json"):
            case = json.loads(path.read_text())
            if "error" in case:
                continue
            first = _parse(adapter, case)
            assert _parse(adapter, case) == first
