// Dates, channels and languages as people read them.

import { LOCALE, t, tn } from "./strings.js";

const KNOWN_CHANNELS = new Set(["sms", "email", "webchat", "api", "voice"]);

export function channelKey(channel) {
  return KNOWN_CHANNELS.has(channel) ? channel : "other";
}

export function channelLabel(channel) {
  return t(`channel.${channelKey(channel)}`);
}

const timeOfDay = new Intl.DateTimeFormat(LOCALE, { hour: "numeric", minute: "2-digit" });
const dayAndTime = new Intl.DateTimeFormat(LOCALE, { month: "short", day: "numeric", hour: "numeric", minute: "2-digit" });
const fullDate = new Intl.DateTimeFormat(LOCALE, { year: "numeric", month: "short", day: "numeric" });
const shortDate = new Intl.DateTimeFormat(LOCALE, { month: "short", day: "numeric" });
const longStamp = new Intl.DateTimeFormat(LOCALE, { dateStyle: "full", timeStyle: "short" });

function sameDay(a, b) {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
}

/** Compact age for the conversation list: "now", "5 min", "3 h", "Yesterday", "Nov 3". */
export function relativeTime(iso, now = new Date()) {
  if (!iso) return "";
  const then = new Date(iso);
  const seconds = Math.max(0, (now - then) / 1000);
  if (seconds < 60) return t("time.now");
  if (seconds < 3600) return tn("time.minutes", Math.floor(seconds / 60));
  if (seconds < 86400 && sameDay(then, now)) return tn("time.hours", Math.floor(seconds / 3600));
  const yesterday = new Date(now);
  yesterday.setDate(now.getDate() - 1);
  if (sameDay(then, yesterday)) return t("time.yesterday");
  if (seconds < 86400) return tn("time.hours", Math.floor(seconds / 3600));
  return then.getFullYear() === now.getFullYear() ? shortDate.format(then) : fullDate.format(then);
}

/** A timeline stamp: time of day for today, else date and time. */
export function eventTime(iso, now = new Date()) {
  const then = new Date(iso);
  return sameDay(then, now) ? timeOfDay.format(then) : dayAndTime.format(then);
}

export function longTime(iso) {
  return longStamp.format(new Date(iso));
}

export function dateOnly(isoDate) {
  // A date of birth has no time zone: read it as a calendar date.
  const [y, m, d] = isoDate.split("-").map(Number);
  return fullDate.format(new Date(y, m - 1, d));
}

let languageNames = null;
try {
  languageNames = new Intl.DisplayNames([LOCALE], { type: "language" });
} catch {
  languageNames = null;
}

export function languageLabel(code) {
  if (!code) return t("patient.unknownLanguage");
  try {
    return languageNames?.of(code) ?? code;
  } catch {
    return code;
  }
}
