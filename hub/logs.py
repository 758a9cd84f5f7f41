"""What the hub's server logs say of a request: its method, its path without the query, its status.

uvicorn's access log writes each request's full path and the client's address. A query can carry a
patient's words (a search for "chest pain") and an address is an identifier of the person behind it
(a patient's browser on web chat): neither may reach a log. The hub's own log lines never carry
patient data (hub/errors.py logs an error's type and place, never its message)."""

from __future__ import annotations

import copy
import logging
from typing import Any

import uvicorn.config


class RedactAccess(logging.Filter):
    """On uvicorn's access records (client, method, path, http version, status): the client made
    anonymous and the query dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5:
            _client, method, path, version, status = args
            record.args = ("-", method, str(path).split("?", 1)[0], version, status)
        return True


def log_config() -> dict[str, Any]:
    """uvicorn's logging configuration with the access records redacted."""
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config.setdefault("filters", {})["redact"] = {"()": "hub.logs.RedactAccess"}
    config["handlers"]["access"]["filters"] = ["redact"]
    return config
