// Small labels shared by the list and the conversation: channel and status.

import { h } from "./dom.js";
import { channelKey, channelLabel } from "./format.js";
import { t } from "./strings.js";

export function channelBadge(channel, attrs = {}) {
  return h("span", { class: `badge channel-${channelKey(channel)}`, ...attrs }, channelLabel(channel));
}

export function statusBadge(status, attrs = {}) {
  return h("span", { class: `status status-${status}`, ...attrs }, t(`status.${status}`));
}
