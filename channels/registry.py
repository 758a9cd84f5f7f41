"""Every channel adapter, and the ones that take normalised POSTs at /api/channels/{name}/messages."""

from channels.api.adapter import ApiAdapter
from channels.base import ChannelAdapter
from channels.email.adapter import EmailAdapter
from channels.sms.adapter import TwilioSmsAdapter
from channels.webchat.adapter import WebchatAdapter

ALL: dict[str, ChannelAdapter] = {
    a.channel: a for a in (ApiAdapter(), TwilioSmsAdapter(), WebchatAdapter(), EmailAdapter())
}
# SMS, web chat and email have their own authenticated routes; the generic route is for the API channel.
ADAPTERS: dict[str, ChannelAdapter] = {name: ALL[name] for name in ("api",)}
