"""This process's counters for the widget's public endpoints (see hub/ratelimit.py)."""

from __future__ import annotations

from hub.ratelimit import Window
from hub.settings import WebchatSettings


class WebchatLimits:
    def __init__(self, w: WebchatSettings) -> None:
        self.sessions = Window(w.sessions_per_hour, 3600)  # per IP address
        self.messages = Window(w.messages_per_minute, 60)  # per visitor
        self.codes = Window(w.codes_per_hour, 3600)  # per visitor, and per destination
