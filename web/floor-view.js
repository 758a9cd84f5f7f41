// The live floor (#/floor, supervisors and admins): per team, who waits and for how long, urgent
// conversations nobody has taken, who is online, available or away with their load, and the
// assistant's share; the conversations waiting, to take, assign or transfer; setting an agent Away.
// Read once (GET /api/floor), then kept live by the stream's `floor` frames (hub/floor/). The floor
// holds no patient data: a conversation is its number, team, channel, language and wait.
//
// Rows are kept by id and updated in place, so a frame (one a few seconds at least) never takes the
// keyboard focus away from a button or a select.

import { ApiError, api } from "./api.js";
import { h, replaceChildren } from "./dom.js";
import { channelLabel, languageLabel, teamName } from "./format.js";
import { t } from "./strings.js";

function detailOf(err) {
  return err instanceof ApiError ? err.detail : t("error.network");
}

/** A wait in words: "45 s", "12 min", "2 h 5 min". */
export function waitText(seconds) {
  if (seconds === null || seconds === undefined) return t("floor.noWait");
  if (seconds < 60) return t("floor.seconds", { n: seconds });
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return t("floor.minutes", { n: minutes });
  return t("floor.hoursMinutes", { h: Math.floor(minutes / 60), m: minutes % 60 });
}

function teamLabel(team) {
  return team.id === null ? t("floor.noTeam") : teamName(team);
}

/** A row kept by key: its cells' text is replaced, the row itself stays (and so does focus). */
class KeyedRows {
  constructor(body, make) {
    this.body = body;
    this.make = make; // (item) => {row, update(item)}
    this.rows = new Map();
  }

  show(items, keyOf) {
    const keep = new Set();
    let before = this.body.firstChild;
    for (const item of items) {
      const key = keyOf(item);
      keep.add(key);
      let entry = this.rows.get(key);
      if (!entry) {
        entry = this.make(item);
        this.rows.set(key, entry);
      }
      entry.update(item);
      if (entry.row !== before) this.body.insertBefore(entry.row, before);
      before = entry.row.nextSibling;
    }
    for (const [key, entry] of this.rows) {
      if (!keep.has(key)) {
        entry.row.remove();
        this.rows.delete(key);
      }
    }
  }
}

export class FloorView {
  constructor({ me }) {
    this.me = me;
    this.floor = null;
    this.status = h("p", { class: "floor-status", role: "status", "data-testid": "floor-status" });
    this.updated = h("p", { class: "floor-updated", "data-testid": "floor-updated" });
    this.assistant = h("p", { class: "floor-assistant", "data-testid": "floor-assistant" });
    this.teamsBody = h("tbody");
    this.agentsBody = h("tbody");
    this.waitingList = h("ul", { class: "floor-waiting", "data-testid": "floor-waiting" });
    this.teamRows = new KeyedRows(this.teamsBody, (team) => this.#teamRow(team));
    this.agentRows = new KeyedRows(this.agentsBody, (agent) => this.#agentRow(agent));
    this.waitingRows = new KeyedRows(this.waitingList, (item) => this.#waitingItem(item));
    const th = (key) => h("th", { scope: "col" }, t(key));
    this.element = h("main", { class: "admin-page floor-page", "data-testid": "floor", tabindex: "-1" },
      h("h1", { class: "admin-title" }, t("floor.heading")),
      this.updated, this.status, this.assistant,
      h("h2", { id: "floor-teams-h" }, t("floor.teams")),
      h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-labelledby": "floor-teams-h" },
        h("table", { class: "audit floor-table", "data-testid": "floor-teams" },
          h("thead", {}, h("tr", {}, th("floor.team"), th("floor.waiting"), th("floor.longest"), th("floor.urgent"),
            th("floor.online"), th("floor.available"), th("floor.away"), th("floor.load"), th("floor.assistantCol"))),
          this.teamsBody)),
      h("h2", { id: "floor-waiting-h" }, t("floor.waitingHeading")),
      this.waitingList,
      h("h2", { id: "floor-agents-h" }, t("floor.agents")),
      h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-labelledby": "floor-agents-h" },
        h("table", { class: "audit floor-table", "data-testid": "floor-agents" },
          h("thead", {}, h("tr", {}, th("floor.agent"), th("floor.state"), th("floor.load"), th("floor.teamsCol"),
            h("th", { scope: "col" }, h("span", { class: "sr-only" }, t("floor.actions"))))),
          this.agentsBody)));
    window.addEventListener("puente:frame", (ev) => {
      if (ev.detail?.type === "floor" && this.element.isConnected) this.show(ev.detail.floor);
    });
  }

  async open() {
    try {
      this.show(await api.floor());
    } catch (err) {
      this.status.textContent = t("floor.failed", { detail: detailOf(err) });
    }
  }

  show(floor) {
    this.floor = floor;
    this.updated.textContent = t("floor.updated", { time: new Date(floor.at).toLocaleTimeString() });
    const a = floor.assistant;
    this.assistant.textContent = a.open
      ? t("floor.assistantShare", { holding: a.holding, open: a.open, share: Math.round((a.share ?? 0) * 100) })
      : t("floor.nothingOpen");
    this.teamRows.show(floor.teams, (team) => String(team.id));
    this.agentRows.show(floor.agents, (agent) => agent.id);
    this.waitingRows.show(floor.waiting, (item) => item.id);
    if (!floor.waiting.length && !this.waitingList.querySelector(".floor-none")) {
      this.waitingList.append(h("li", { class: "floor-none" }, t("floor.nobodyWaiting")));
    } else if (floor.waiting.length) {
      this.waitingList.querySelector(".floor-none")?.remove();
    }
  }

  #teamRow() {
    const cells = Array.from({ length: 9 }, (_, i) => h(i === 0 ? "th" : "td", i === 0 ? { scope: "row" } : {}));
    const row = h("tr", { "data-testid": "floor-team" }, cells);
    return {
      row,
      update: (team) => {
        row.dataset.team = team.id === null ? "none" : String(team.id);
        const values = [teamLabel(team), team.waiting, waitText(team.longest_wait_s), team.urgent_waiting, team.online,
          team.available, team.away, t("floor.loadOf", { load: team.load, capacity: team.capacity }), team.assistant];
        values.forEach((value, i) => { cells[i].textContent = String(value); });
        cells[1].dataset.testid = "floor-team-waiting";
        cells[3].classList.toggle("floor-alert", team.urgent_waiting > 0);
      },
    };
  }

  #agentRow(first) {
    const name = h("th", { scope: "row" });
    const state = h("td", { "data-testid": "floor-agent-state" });
    const load = h("td");
    const teams = h("td");
    const away = h("button", { type: "button", class: "button small", "data-testid": "floor-set-away",
      onclick: () => this.#setAway(current) }, t("floor.setAway"));
    const row = h("tr", { "data-testid": "floor-agent", "data-agent": first.id }, name, state, load, teams, h("td", {}, away));
    let current = first;
    return {
      row,
      update: (agent) => {
        current = agent;
        name.textContent = agent.name;
        state.textContent = t(`floor.state.${agent.state}`);
        state.dataset.state = agent.state;
        load.textContent = t("floor.loadOf", { load: agent.load, capacity: agent.capacity });
        const names = new Map((this.floor?.teams ?? []).map((team) => [team.id, teamLabel(team)]));
        teams.textContent = agent.team_ids.map((id) => names.get(id) ?? "").filter(Boolean).join(", ");
        away.hidden = agent.state !== "available";
        away.setAttribute("aria-label", t("floor.setAwayLabel", { name: agent.name }));
      },
    };
  }

  async #setAway(agent) {
    try {
      await api.setAway(agent.id);
      this.status.textContent = t("floor.setAwayDone", { name: agent.name });
    } catch (err) {
      this.status.textContent = t("floor.actionFailed", { detail: detailOf(err) });
    }
  }

  #waitingItem(first) {
    let current = first;
    const link = h("a", { href: `#/c/${first.id}`, "data-testid": "floor-open" });
    const facts = h("span", { class: "floor-facts" });
    const take = h("button", { type: "button", class: "button small primary", "data-testid": "floor-take",
      onclick: () => this.#act(() => api.take(current.id, this.me.id), t("floor.taken", { id: current.id })) });
    const agentSelect = h("select", { "data-testid": "floor-assign-to", "aria-label": t("floor.assignTo", { id: first.id }) });
    const assign = h("button", { type: "button", class: "button small", "data-testid": "floor-assign",
      onclick: () => agentSelect.value && this.#act(() => api.assign(current.id, Number(agentSelect.value)),
        t("floor.assigned", { id: current.id })) }, t("floor.assign"));
    const teamSelect = h("select", { "data-testid": "floor-transfer-to", "aria-label": t("floor.transferTo", { id: first.id }) });
    const transfer = h("button", { type: "button", class: "button small", "data-testid": "floor-transfer",
      onclick: () => teamSelect.value && this.#act(() => api.transfer(current.id, { teamId: Number(teamSelect.value) }),
        t("floor.transferred", { id: current.id })) }, t("floor.transfer"));
    const row = h("li", { class: "floor-item", "data-testid": "floor-waiting-item", "data-conversation": first.id },
      h("div", { class: "floor-item-head" }, link, facts),
      h("div", { class: "floor-item-actions" }, take, agentSelect, assign, teamSelect, transfer));
    const fill = (select, options, keep) => {
      if (select === document.activeElement) return; // never under the keyboard
      replaceChildren(select, h("option", { value: "" }, keep), options);
    };
    return {
      row,
      update: (item) => {
        current = item;
        const teams = this.floor?.teams ?? [];
        const team = teams.find((x) => x.id === item.team_id);
        link.textContent = t("floor.conversation", { id: item.id });
        const wait = item.waiting_since ? Math.max(0, Math.round((new Date(this.floor.at) - new Date(item.waiting_since)) / 1000)) : null;
        facts.textContent = t("floor.itemFacts", { team: team ? teamLabel(team) : t("floor.noTeam"),
          channel: channelLabel(item.channel), language: languageLabel(item.language), wait: waitText(wait) });
        row.classList.toggle("is-urgent", item.urgent);
        take.textContent = item.urgent ? t("floor.takeUrgent") : t("floor.take");
        take.setAttribute("aria-label", t(item.urgent ? "floor.takeUrgentLabel" : "floor.takeLabel", { id: item.id }));
        const agents = (this.floor?.agents ?? []).filter((a) => a.state !== "offline");
        fill(agentSelect, agents.map((a) => h("option", { value: a.id, selected: String(a.id) === agentSelect.value },
          t("floor.agentOption", { name: a.name, load: a.load, capacity: a.capacity }))), t("floor.chooseAgent"));
        fill(teamSelect, teams.filter((x) => x.id !== null && x.id !== item.team_id).map((x) =>
          h("option", { value: x.id, selected: String(x.id) === teamSelect.value }, teamLabel(x))), t("floor.chooseTeam"));
      },
    };
  }

  async #act(call, done) {
    try {
      await call();
      this.status.textContent = done;
    } catch (err) {
      this.status.textContent = t("floor.actionFailed", { detail: detailOf(err) });
    }
  }
}
