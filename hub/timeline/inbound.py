"""POST /api/channels/{name}/messages: inbound messages from integrations (API key auth).

The answer is sent only once the message is committed: 201 for a new message, 200 with
duplicate=true for a retry of one already stored (same channel + provider message id).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, post
from litestar.exceptions import (
    NotFoundException,
    ValidationException,
)
from litestar.params import FromPath

from channels.base import InvalidPayload
from channels.registry import ADAPTERS
from hub.deps import HubDep
from hub.patients.contacts import InvalidContact
from hub.timeline.ingest import IngestResult
from hub.timeline.keys import check_integration_key


@post("/api/channels/{name:str}/messages", exclude_from_auth=True, exclude_from_csrf=True, skip_session=True)
async def api_inbound(name: FromPath[str], request: Request[Any, Any, Any], hub: HubDep) -> Response[IngestResult]:
    # Checked here rather than in a guard (Litestar copies the handler for each guard call,
    # on the hottest route), still before the body is read.
    check_integration_key(request, hub.settings.security.ingest_keys)
    adapter = ADAPTERS.get(name)
    if adapter is None:
        raise NotFoundException(f"no channel {name!r} accepts messages here; try one of {', '.join(ADAPTERS)}")
    body = await request.body()
    try:
        messages = adapter.parse_inbound(body, request.headers.get("content-type", ""))
        checked = [hub.door.check(m) for m in messages]
    except (InvalidPayload, InvalidContact) as exc:
        raise ValidationException(str(exc)) from None
    results = [await hub.door.receive(c) for c in checked]
    result = results[0]
    return Response(result, status_code=200 if result.duplicate else 201)
