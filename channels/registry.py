"""The channels that accept normalised messages over POST /api/channels/{name}/messages."""

from channels.api.adapter import ApiAdapter
from channels.base import ChannelAdapter

ADAPTERS: dict[str, ChannelAdapter] = {a.channel: a for a in (ApiAdapter(),)}
