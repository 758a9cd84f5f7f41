"""Every channel adapter, and the ones that take normalised POSTs at /api/channels/{name}/messages."""

from channels.api.adapter import ApiAdapter
from channels.base import ChannelAdapter
from channels.sms.adapter import TwilioSmsAdapter

ALL: dict[str, ChannelAdapter] = {a.channel: a for a in (ApiAdapter(), TwilioSmsAdapter())}
# SMS has its own signed webhook routes; the generic route is for the API channel.
ADAPTERS: dict[str, ChannelAdapter] = {name: ALL[name] for name in ("api",)}
