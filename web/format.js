// Dates, channels and languages as people read them.

import { LOCALE, formattingLocale, t, tn } from "./strings.js";

const KNOWN_CHANNELS = new Set(["sms", "email", "webchat", "api", "voice"]);

export function channelKey(channel) {
  return KNOWN_CHANNELS.has(channel) ? channel : "other";
}

export function channelLabel(channel) {
  return t(`channel.${channelKey(channel)}`);
}

// The clinic's teams by id, with their Spanish names (GET /api/teams; app.js reads them once).
const TEAMS = new Map();

export function knowTeams(teams) {
  TEAMS.clear();
  for (const team of teams) TEAMS.set(team.id, team);
}

/** A team's name in the inbox's language: its Spanish name, when it has one, for a Spanish inbox. */
export function teamName(team) {
  return (LOCALE === "es" && team?.name_es) || team?.name || "";
}

/** The same by id; `recorded` (the name an event kept) for a team not known. */
export function teamNameOf(id, recorded = null) {
  const team = TEAMS.get(id);
  return team ? teamName(team) : recorded;
}

// Intl formatters for the current language, built on first use and again after it changes.
let formats = null;

function fmt() {
  if (formats?.language !== LOCALE) {
    const locale = formattingLocale();
    formats = {
      language: LOCALE,
      timeOfDay: new Intl.DateTimeFormat(locale, { hour: "numeric", minute: "2-digit" }),
      dayAndTime: new Intl.DateTimeFormat(locale, { month: "short", day: "numeric", hour: "numeric", minute: "2-digit" }),
      fullDate: new Intl.DateTimeFormat(locale, { year: "numeric", month: "short", day: "numeric" }),
      shortDate: new Intl.DateTimeFormat(locale, { month: "short", day: "numeric" }),
      longStamp: new Intl.DateTimeFormat(locale, { dateStyle: "full", timeStyle: "short" }),
      languageNames: displayNames(locale),
    };
  }
  return formats;
}

function displayNames(locale) {
  try {
    return new Intl.DisplayNames([locale], { type: "language" });
  } catch {
    return null;
  }
}

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
  return then.getFullYear() === now.getFullYear() ? fmt().shortDate.format(then) : fmt().fullDate.format(then);
}

/** A timeline stamp: time of day for today, else date and time. */
export function eventTime(iso, now = new Date()) {
  const then = new Date(iso);
  return sameDay(then, now) ? fmt().timeOfDay.format(then) : fmt().dayAndTime.format(then);
}

export function longTime(iso) {
  return fmt().longStamp.format(new Date(iso));
}

export function dateOnly(isoDate) {
  // A date of birth has no time zone: read it as a calendar date.
  const [y, m, d] = isoDate.split("-").map(Number);
  return fmt().fullDate.format(new Date(y, m - 1, d));
}

export function languageLabel(code) {
  if (!code) return t("patient.unknownLanguage");
  try {
    return fmt().languageNames?.of(code) ?? code;
  } catch {
    return code;
  }
}
