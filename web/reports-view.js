// Reports (#/reports, supervisors and admins): the KPIs of docs/kpis.md over a range of days, by day,
// week or month, filtered by team, channel, language, agent and intent (GET /api/reports/kpis). Each
// card carries its definition as a tooltip (shown on hover and on keyboard focus, and read by screen
// readers through aria-describedby) and a link to the conversations it counts (an audited read);
// charts (web/charts.js) each with their table; every table downloadable as CSV (audited).

import { ApiError } from "./api.js";
import { barChart, heatMap, trendChart } from "./charts.js";
import { h, replaceChildren } from "./dom.js";
import { channelLabel, languageLabel, teamNameOf } from "./format.js";
import { t } from "./strings.js";

// [figure, label key, how its value reads, the counted KPI its conversations are, definition key]
const CARDS = [
  ["conversations", "reports.conversations", "count", "conversations", "kpi.def.conversations"],
  ["messages_in", "reports.messagesIn", "count", null, "kpi.def.messagesIn"],
  ["messages_out", "reports.messagesOut", "count", null, "kpi.def.messagesOut"],
  ["bot_resolved_rate", "reports.botResolved", "rate", "bot_resolved", "kpi.def.botResolved"],
  ["handed_off", "reports.handedOff", "count", "handed_off", "kpi.def.handedOff"],
  ["bot_s_median", "reports.botTime", "time", "assistant", "kpi.def.botTime"],
  ["first_response_business_s_median", "reports.firstResponse", "frt", "first_responses", "kpi.def.firstResponse"],
  ["wait_s_median", "reports.wait", "time", "with_people", "kpi.def.wait"],
  ["handle_s_median", "reports.handle", "time", "resolved", "kpi.def.handle"],
  ["resolution_s_median", "reports.resolution", "time", "resolved", "kpi.def.resolution"],
  ["abandonment_rate", "reports.abandonment", "rate", "abandoned", "kpi.def.abandonment"],
  ["transfer_rate", "reports.transfers", "rate", "transferred", "kpi.def.transfers"],
  ["opt_outs", "reports.optOuts", "count", "opted_out", "kpi.def.optOuts"],
  ["red_flags", "reports.redFlags", "count", "red_flags", "kpi.def.redFlags"],
  ["csat_score", "reports.csat", "rate", "csat_answered", "kpi.def.csat"],
];
const TABLE_COLUMNS = ["conversations", "messages_in", "messages_out", "bot_resolved", "handed_off", "first_responses",
  "first_response_avg_s", "abandoned", "transferred", "resolved", "opt_outs", "red_flags", "csat_answered"];
const BREAKDOWNS = [["by_channel", "reports.byChannel"], ["by_language", "reports.byLanguage"],
  ["by_intent", "reports.byIntent"], ["by_team", "reports.byTeam"], ["by_agent", "reports.byAgent"]];

/** A duration in words: "45 s", "12 min", "3 h 5 min". */
export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  if (seconds < 60) return t("reports.seconds", { n: Math.round(seconds) });
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return t("reports.minutes", { n: minutes });
  return t("reports.hoursMinutes", { h: Math.floor(minutes / 60), m: minutes % 60 });
}

function percent(rate) {
  return rate === null || rate === undefined ? "–" : t("reports.percent", { n: Math.round(rate * 1000) / 10 });
}

async function getJson(url) {
  const r = await fetch(url, { credentials: "same-origin", headers: { accept: "application/json" } });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new ApiError(r.status, body.detail || t("error.network"));
  return body;
}

function detailOf(err) {
  return err instanceof ApiError ? err.detail : t("error.network");
}

export class ReportsView {
  constructor({ me }) {
    this.me = me;
    this.data = null;
    const field = (key, control) => h("label", { class: "reports-field" }, h("span", {}, t(key)), control);
    // Empty at first: the hub's default (the last 30 days in the clinic's time zone), then what it answered.
    this.since = h("input", { type: "date", name: "since", "data-testid": "reports-since" });
    this.until = h("input", { type: "date", name: "until", "data-testid": "reports-until" });
    this.period = h("select", { name: "period", "data-testid": "reports-period" },
      ...["day", "week", "month"].map((p) => h("option", { value: p }, t(`reports.period.${p}`))));
    this.team = h("select", { name: "team_id", "data-testid": "reports-team" }, h("option", { value: "" }, t("reports.allTeams")));
    this.channel = h("select", { name: "channel", "data-testid": "reports-channel" }, h("option", { value: "" }, t("reports.allChannels")),
      ...["sms", "email", "webchat", "api"].map((c) => h("option", { value: c }, channelLabel(c))));
    this.language = h("select", { name: "language", "data-testid": "reports-language" }, h("option", { value: "" }, t("reports.allLanguages")),
      ...["en", "es"].map((c) => h("option", { value: c }, languageLabel(c))));
    this.agent = h("select", { name: "agent_id", "data-testid": "reports-agent" }, h("option", { value: "" }, t("reports.allAgents")));
    this.intent = h("input", { type: "text", name: "intent", maxlength: "32", "data-testid": "reports-intent" });
    this.form = h("form", { class: "reports-filters", "data-testid": "reports-filters" },
      field("reports.since", this.since), field("reports.until", this.until), field("reports.periodLabel", this.period),
      field("reports.team", this.team), field("reports.channel", this.channel), field("reports.language", this.language),
      field("reports.agent", this.agent), field("reports.intent", this.intent),
      h("button", { type: "submit", class: "primary", "data-testid": "reports-apply" }, t("reports.apply")));
    this.form.addEventListener("submit", (ev) => { ev.preventDefault(); this.load(); });
    this.status = h("p", { class: "reports-status", role: "status", "data-testid": "reports-status" });
    this.cards = h("div", { class: "reports-cards", "data-testid": "reports-cards" });
    this.charts = h("div", { class: "reports-charts" });
    this.tables = h("div", { class: "reports-tables" });
    this.drill = h("section", { class: "reports-drill", "aria-live": "polite", "data-testid": "reports-drill" });
    this.element = h("main", { class: "admin-page reports-page", "data-testid": "reports", tabindex: "-1" },
      h("h1", { class: "admin-title" }, t("reports.heading")),
      h("p", {}, t("reports.intro")),
      this.form, this.status, this.cards, this.drill, this.charts, this.tables);
    this.optionsLoaded = false;
  }

  query(extra = {}) {
    const q = new URLSearchParams();
    for (const [k, control] of Object.entries({ since: this.since, until: this.until, period: this.period, team_id: this.team,
      channel: this.channel, language: this.language, agent_id: this.agent, intent: this.intent })) {
      if (control.value.trim()) q.set(k, control.value.trim());
    }
    for (const [k, v] of Object.entries(extra)) q.set(k, v);
    return q.toString();
  }

  async open() {
    if (!this.optionsLoaded) {
      this.optionsLoaded = true;
      try {
        const [teams, agents] = await Promise.all([getJson("/api/teams"), getJson("/api/agents")]);
        for (const team of teams) this.team.append(h("option", { value: String(team.id) }, teamNameOf(team.id, team.name)));
        this.agents = new Map(agents.map((a) => [a.id, a.display_name]));
        for (const a of agents) this.agent.append(h("option", { value: String(a.id) }, a.display_name));
      } catch {
        this.agents = new Map();
      }
    }
    await this.load();
  }

  async load() {
    this.status.textContent = t("reports.loading");
    try {
      this.data = await getJson(`/api/reports/kpis?${this.query()}`);
    } catch (err) {
      this.status.textContent = t("reports.failed", { detail: detailOf(err) });
      return;
    }
    this.since.value = this.data.since;
    this.until.value = this.data.until;
    this.status.textContent = t("reports.range", { since: this.data.since, until: this.data.until, zone: this.data.timezone });
    this.#cards();
    this.#charts();
    this.#tables();
    replaceChildren(this.drill);
  }

  #value(kind, key) {
    const v = this.data.totals[key];
    if (kind === "rate") return percent(v);
    if (kind === "time") return duration(v);
    if (kind === "frt") return t("reports.frtBoth", { business: duration(v), calendar: duration(this.data.totals.first_response_s_median) });
    return v === null || v === undefined ? "–" : String(v);
  }

  #cards() {
    replaceChildren(this.cards, ...CARDS.map(([key, label, kind, kpi, def]) => {
      const defId = `kpi-def-${key}`;
      return h("div", { class: "kpi-card", "data-testid": `kpi-${key}`, "data-kpi": key },
        h("h3", { class: "kpi-label", tabindex: "0", "aria-describedby": defId }, t(label)),
        h("p", { class: "kpi-value", "data-testid": `kpi-value-${key}` }, this.#value(kind, key)),
        h("p", { class: "kpi-def", id: defId, role: "tooltip" }, t(def)),
        kpi ? h("button", { type: "button", class: "link kpi-drill", "data-testid": `kpi-drill-${key}`,
          onclick: () => this.#drill(kpi, t(label)) }, t("reports.showConversations", { figure: t(label) })) : null);
    }));
  }

  async #drill(kpi, label) {
    replaceChildren(this.drill, h("p", {}, t("reports.loading")));
    let out;
    try {
      out = await getJson(`/api/reports/conversations?${this.query({ kpi })}`);
    } catch (err) {
      replaceChildren(this.drill, h("p", {}, t("reports.failed", { detail: detailOf(err) })));
      return;
    }
    const heading = h("h2", { tabindex: "-1" }, t("reports.conversationsOf", { figure: label, n: out.total }));
    replaceChildren(this.drill, heading,
      out.conversations.length ? h("ul", { class: "reports-drill-list", "data-testid": "reports-drill-list" },
        ...out.conversations.map((c) => h("li", {}, h("a", { href: `#/c/${c.conversation_id}` },
          t("reports.conversationLink", { id: c.conversation_id, channel: channelLabel(c.channel) })))))
        : h("p", {}, t("reports.none")),
      this.#csvLink("conversations", { kpi }));
    heading.focus();
  }

  #csvLink(table, extra = {}) {
    return h("a", { class: "reports-csv", href: `/api/reports/export.csv?${this.query({ table, ...extra })}`, download: "",
      "data-testid": `reports-csv-${table}` }, t("reports.downloadCsv"));
  }

  #charts() {
    const d = this.data;
    const days = [0, 1, 2, 3, 4, 5, 6].map((i) => t(`reports.weekday.${i}`));
    replaceChildren(this.charts,
      trendChart({ caption: t("reports.trendCaption"), label: t("reports.trendLabel", { n: d.totals.conversations }),
        points: d.rows.map((r) => ({ label: r.period, value: r.conversations })), testid: "chart-trend",
        headings: [t("reports.periodCol"), t("reports.conversations")], tableLabel: t("reports.showTable") }),
      barChart({ caption: t("reports.frtCaption"), testid: "chart-frt",
        label: t("reports.frtLabel", { p50: duration(d.totals.first_response_business_s_median) }),
        bars: d.first_response_percentiles.map((p) => ({ label: t("reports.percentile", { p: p.p }), values: [p.business_s, p.calendar_s] })),
        series: [t("reports.business"), t("reports.calendar")], format: duration,
        headings: [t("reports.percentileCol"), t("reports.business"), t("reports.calendar")], tableLabel: t("reports.showTable") }),
      heatMap({ caption: t("reports.heatCaption"), label: t("reports.heatLabel"), testid: "chart-heat",
        cells: d.heatmap.map((c) => ({ weekday: c.weekday, hour: c.hour, value: c.conversations })), dayNames: days,
        headings: [t("reports.weekdayCol"), ...Array.from({ length: 24 }, (_, i) => String(i))], tableLabel: t("reports.showTable") }));
  }

  #table(id, title, rows, keyLabel, keyOf) {
    const headId = `reports-${id}-h`;
    return h("section", { class: "reports-table" },
      h("h2", { id: headId }, title),
      h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-labelledby": headId },
        h("table", { class: "audit", "data-testid": `reports-table-${id}` },
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, keyLabel),
            ...TABLE_COLUMNS.map((c) => h("th", { scope: "col" }, t(`reports.col.${c}`))))),
          h("tbody", {}, ...rows.map((r) => h("tr", {}, h("th", { scope: "row" }, keyOf(r)),
            ...TABLE_COLUMNS.map((c) => h("td", {}, c.endsWith("_s") ? duration(r[c]) : String(r[c] ?? "–")))))))),
      this.#csvLink(id));
  }

  #tables() {
    const d = this.data;
    const keyText = {
      by_channel: (k) => channelLabel(k), by_language: (k) => (k ? languageLabel(k) : t("reports.unknown")),
      by_intent: (k) => k || t("reports.unknown"), by_team: (k) => (k === null ? t("reports.noTeam") : teamNameOf(k)),
      by_agent: (k) => (k === null ? t("reports.nobody") : this.agents?.get(k) || String(k)),
    };
    replaceChildren(this.tables,
      this.#table("rows", t("reports.byPeriod"), [...d.rows, { ...d.totals, period: t("reports.total") }], t("reports.periodCol"), (r) => r.period),
      ...BREAKDOWNS.map(([id, title]) => this.#table(id, t(title), d[id], t("reports.keyCol"), (r) => keyText[id](r.key))),
      this.#reasons(d.handoff_reasons));
  }

  /** Hand-offs to people by the reason of the first. */
  #reasons(rows) {
    return h("section", { class: "reports-table" },
      h("h2", { id: "reports-reasons-h" }, t("reports.byReason")),
      h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-labelledby": "reports-reasons-h" },
        h("table", { class: "audit", "data-testid": "reports-table-handoff_reasons" },
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("reports.reasonCol")), h("th", { scope: "col" }, t("reports.conversations")))),
          h("tbody", {}, ...rows.map((r) => h("tr", {}, h("th", { scope: "row" }, r.reason || t("reports.unknown")),
            h("td", {}, String(r.conversations))))))),
      this.#csvLink("handoff_reasons"));
  }
}
