"""What the OpenAPI document says beyond what Litestar infers: how each route authenticates (the
security schemes), and the bodies of the routes that read theirs raw (to answer after commit with
their own clear 4xx). tests/app/test_bad_input.py holds the document to the hub's real behaviour:
every route that refuses a request without credentials says which it needs, and no other does.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
from litestar import Litestar
from litestar._openapi.plugin import OpenAPIPlugin
from litestar.openapi.spec import (
    Components,
    OpenAPIMediaType,
    OpenAPIType,
    Reference,
    RequestBody,
    Schema,
    SecurityScheme,
)
from litestar.routes import HTTPRoute

from channels.api.adapter import ApiMessage
from channels.webchat.adapter import WidgetMessage

SCHEMES = {
    "session": SecurityScheme(
        type="apiKey",
        name="puente_session",
        security_scheme_in="cookie",
        description="A staff member's session, from POST /api/auth/login; ends after the idle timeout.",
    ),
    "csrf": SecurityScheme(
        type="apiKey",
        name="x-csrf-token",
        security_scheme_in="header",
        description="On every unsafe method with a session: the value of the puente_csrf cookie.",
    ),
    "ingestKey": SecurityScheme(
        type="http",
        scheme="bearer",
        description="An integration key (PUENTE_SECURITY_INGEST_KEYS): Authorization: Bearer <key>.",
    ),
    "visitorToken": SecurityScheme(
        type="http",
        scheme="bearer",
        description="A web-chat visitor's signed token, from POST /api/webchat/sessions.",
    ),
    "twilioSignature": SecurityScheme(
        type="apiKey",
        name="X-Twilio-Signature",
        security_scheme_in="header",
        description="Twilio's HMAC-SHA1 of the URL and the form (or bodySHA256), with the account's auth token.",
    ),
    "sendgridBasic": SecurityScheme(
        type="http",
        scheme="basic",
        description="User puente, password PUENTE_EMAIL_SENDGRID_SECRET, in the Inbound Parse URL.",
    ),
}

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}

# Routes that authenticate other than by a guard, by their path; the guarded ones say so themselves.
_BY_PATH: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^/api/channels/(\{name\}|api)/"), "ingestKey"),
    (re.compile(r"^/api/channels/(sms|voice)/"), "twilioSignature"),
    (re.compile(r"^/api/channels/email/sendgrid$"), "sendgridBasic"),
    (re.compile(r"^/api/webchat/(?!sessions$|socket$|strings$)"), "visitorToken"),
]

# Read raw by their handlers (parsed by the channel adapters, answered after commit).
RAW_BODIES = {
    ("/api/channels/{name}/messages", "POST"): ApiMessage,
    ("/api/webchat/messages", "POST"): WidgetMessage,
}


def security_of(path: str, method: str, guards: list[str], csrf_exempt: bool) -> list[dict[str, list[str]]]:
    csrf = {"csrf": []} if method in UNSAFE and not csrf_exempt else {}  # signing in needs it too
    if any(g.startswith("requires_") for g in guards):
        return [{"session": [], **csrf}]
    if "integration_key_guard" in guards:
        return [{"ingestKey": []}]
    for pattern, scheme in _BY_PATH:
        if pattern.search(path):
            return [{scheme: []}]
    return [csrf] if csrf else []


def document(app: Litestar) -> None:
    """Add the security schemes, each operation's requirement, and the raw bodies' schemas to the
    app's OpenAPI document (built once, before the first request)."""
    openapi = app.plugins.get(OpenAPIPlugin).provide_openapi()
    components = openapi.components if isinstance(openapi.components, Components) else Components()
    components.security_schemes = {**(components.security_schemes or {}), **SCHEMES}
    schemas = dict(components.schemas or {})
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or route.path_format not in openapi.paths:
            continue
        item = openapi.paths[route.path_format]
        for handler in route.route_handlers:
            guards = [getattr(g, "__name__", "") for g in handler.resolve_guards()]
            for method in handler.http_methods:
                operation = getattr(item, method.lower(), None)
                if operation is None:
                    continue
                exempt = bool(handler.opt.get("exclude_from_csrf"))
                operation.security = security_of(route.path_format, method, guards, exempt) or None
                struct = RAW_BODIES.get((route.path_format, method))
                if struct is not None:
                    operation.request_body = RequestBody(
                        required=True,
                        content={"application/json": OpenAPIMediaType(schema=_register(struct, schemas))},
                    )
    components.schemas = schemas
    openapi.components = components


def _register(struct: type, schemas: dict[str, Any]) -> Reference:
    """msgspec's JSON Schema of `struct`, its definitions added to the components."""
    whole = msgspec.json.schema(struct, ref_template="#/components/schemas/{name}")
    for name, definition in whole.get("$defs", {}).items():
        schemas.setdefault(name, _schema(definition))
    return Reference(ref=whole["$ref"])


_KEYS = {
    "anyOf": "any_of",
    "oneOf": "one_of",
    "allOf": "all_of",
    "maxLength": "max_length",
    "minLength": "min_length",
    "maxItems": "max_items",
    "minItems": "min_items",
    "additionalProperties": "additional_properties",
    "exclusiveMinimum": "exclusive_minimum",
    "exclusiveMaximum": "exclusive_maximum",
}


def _schema(d: Any) -> Any:
    """A JSON Schema dict as Litestar's Schema objects."""
    if isinstance(d, list):
        return [_schema(x) for x in d]
    if not isinstance(d, dict):
        return d
    if "$ref" in d:
        return Reference(ref=d["$ref"])
    fields: dict[str, Any] = {}
    for key, value in d.items():
        name = _KEYS.get(key, key)
        if name == "type":
            value = [OpenAPIType(v) for v in value] if isinstance(value, list) else OpenAPIType(value)
        elif name == "properties":
            value = {k: _schema(v) for k, v in value.items()}
        elif name in ("items", "any_of", "one_of", "all_of") or (
            name == "additional_properties" and isinstance(value, dict)
        ):
            value = _schema(value)
        fields[name] = value
    return Schema(**fields)
