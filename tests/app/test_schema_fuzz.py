"""The whole OpenAPI document, fuzzed: schemathesis (on hypothesis) generates requests from every
operation's parameters and bodies, valid and not, and sends them to a real hub signed in as an
admin, with the ingest key and a web-chat visitor's token where an operation asks for them. No
answer may be a 5xx. A bounded number of examples per operation keeps it a part of every run."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from tests.support.clients import INGEST_KEY, Staff
from tests.support.server import HubServer, hub_settings

EXAMPLES = 12


@pytest.fixture(scope="module")
def fuzz_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubServer]:
    srv = HubServer(hub_settings(tmp_path_factory.mktemp("fuzz"))).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def credentials(fuzz_hub: HubServer) -> Iterator[dict[str, dict[str, str]]]:
    admin = Staff(fuzz_hub.base_url, "admin")
    visitor = httpx.post(f"{fuzz_hub.base_url}/api/webchat/sessions", json={"name": "Fuzz Visitor"}).json()
    cookies = "; ".join(f"{k}={v}" for k, v in admin.http.cookies.items())
    yield {
        "session": {"cookie": cookies},
        "csrf": {"cookie": cookies, "x-csrf-token": admin.csrf},
        "ingestKey": {"authorization": f"Bearer {INGEST_KEY}"},
        "visitorToken": {"authorization": f"Bearer {visitor['token']}"},
    }
    admin.close()


def _fuzz(operation, headers: dict[str, str], statuses: dict[int, int]) -> None:
    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    def run(case) -> None:
        response = case.call_and_validate(headers=headers, checks=[not_a_server_error])
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

    run()


def test_no_request_the_schema_allows_or_refuses_gets_a_5xx(fuzz_hub, credentials):
    """schemathesis's own pytest plugin does not run under this pytest, so each operation's
    strategy is driven by hypothesis here: every operation, EXAMPLES requests each."""
    schema = schemathesis.openapi.from_url(f"{fuzz_hub.base_url}/schema/openapi.json")
    schema.config.base_url = fuzz_hub.base_url
    failures: list[str] = []
    operations = 0
    statuses: dict[int, int] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path == "/api/auth/logout":
            continue  # signing out would only make the rest of the run a test of 401s
        operations += 1
        headers: dict[str, str] = {}
        for requirement in operation.definition.raw.get("security") or []:
            for scheme in requirement:
                headers.update(credentials.get(scheme, {}))

        try:
            _fuzz(operation, headers, statuses)
        except Exception as exc:  # noqa: BLE001 - gathered, so one run names every failing operation
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:500]}")
    assert operations > 40
    assert sum(statuses.values()) > 5 * operations, statuses  # it really asked, and got answers
    assert any(200 <= status < 300 for status in statuses), statuses  # not only refusals
    assert not failures, "\n\n".join(failures)
