// The hub's HTTP API: JSON in and out, the session cookie, and the CSRF header on writes.

import { t } from "./strings.js";

const CSRF_COOKIE = "puente_csrf";

/** An answer other than 2xx; `detail` is the server's explanation (or ours when there was none). */
export class ApiError extends Error {
  constructor(status, detail, problems = null) {
    super(detail);
    this.status = status;
    this.detail = detail;
    this.problems = problems; // what is wrong and where, when the server said (template validation)
  }
}

let onUnauthorized = () => {};

/** Called with the ApiError whenever a signed-in call answers 401 (the session expired). */
export function setUnauthorizedHandler(handler) {
  onUnauthorized = handler;
}

function readCookie(name) {
  for (const part of document.cookie.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return "";
}

/** The CSRF cookie is set by any successful safe request; /api/health works signed out too. */
async function csrfToken(refresh = false) {
  if (refresh || !readCookie(CSRF_COOKIE)) {
    await fetch("/api/health", { credentials: "same-origin", cache: "no-store" }).catch(() => null);
  }
  return readCookie(CSRF_COOKIE);
}

async function send(method, path, body, retried = false) {
  const headers = { accept: "application/json" };
  if (method !== "GET") headers["x-csrf-token"] = await csrfToken(retried);
  const raw = body instanceof Blob; // a file sent as it is (a CSV to import)
  if (body !== undefined) headers["content-type"] = raw ? body.type || "text/csv" : "application/json";
  if (raw && body.name) headers["x-filename"] = encodeURIComponent(body.name);
  let response;
  try {
    response = await fetch(path, {
      method, headers, credentials: "same-origin", cache: "no-store",
      body: body === undefined || raw ? body : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, t("error.network"));
  }
  let data = null;
  const text = await response.text();
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (response.ok) return data;
  const detail = (data && typeof data.detail === "string" && data.detail) || t("error.server", { status: response.status });
  if (response.status === 403 && /csrf/i.test(detail) && !retried) {
    return send(method, path, body, true); // the CSRF cookie was missing or stale: fetch a fresh one once
  }
  throw new ApiError(response.status, detail, Array.isArray(data?.problems) ? data.problems : null);
}

/** A call that needs a session: a 401 means it expired, and the app goes back to sign-in. */
async function call(method, path, body) {
  try {
    return await send(method, path, body);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) onUnauthorized(err);
    throw err;
  }
}

/** The parameters that say something: no empty filter. */
function present(params) {
  return Object.fromEntries(Object.entries(params).filter(([, v]) => v !== "" && v !== undefined && v !== null));
}

function query(params) {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    for (const v of Array.isArray(value) ? value : [value]) if (v !== undefined && v !== null) q.append(key, String(v));
  }
  return q.toString();
}

export const api = {
  /** The signed-in staff member, or null when signed out (no session-expired handling). */
  async me() {
    try {
      return await send("GET", "/api/auth/me");
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return null;
      throw err;
    }
  },
  /** Checks the session is still good; a 401 triggers the session-expired path. */
  whoami: () => call("GET", "/api/auth/me"),
  /** Changes the signed-in user's own preferences ({ui_language}); answers the updated user. */
  updateMe: (changes) => call("PATCH", "/api/auth/me", changes),
  login: (login, password) => send("POST", "/api/auth/login", { login, password }),
  logout: () => send("POST", "/api/auth/logout", {}),

  conversations: ({ mine = false, statuses = ["open", "pending"], limit = 100 } = {}) =>
    call("GET", `/api/conversations?${query({ status: statuses, mine, limit })}`),
  conversation: (id) => call("GET", `/api/conversations/${encodeURIComponent(id)}`),
  /** A view's page (open, waiting, mine, team, urgent, snoozed, resolved, all) under its filters; next: before. */
  conversationView: ({ view, channel, team, language, status, before, limit = 100 }) =>
    call("GET", `/api/conversations?${query(present({ view, channel, team, language, status, before, limit }))}`),
  conversationCounts: (filters) => call("GET", `/api/conversations/counts?${query(present(filters))}`),
  /** Snooze until a time (an ISO string with its offset) or a preset ("hour", "tomorrow_morning"). */
  snooze: (id, { until = null, preset = null }) =>
    call("POST", `/api/conversations/${id}/snooze`, until ? { until } : { preset }),
  endSnooze: (id) => call("DELETE", `/api/conversations/${id}/snooze`),
  patient: (id) => call("GET", `/api/patients/${encodeURIComponent(id)}`),
  timeline: (patientId, { before, limit = 50 } = {}) =>
    call("GET", `/api/patients/${encodeURIComponent(patientId)}/timeline?${query({ before, limit })}`),
  // Search (web/search-view.js): events with the words marked, and patients on the first page.
  search: (q, { before } = {}) => call("GET", `/api/search?${query({ q, before })}`),

  // seen: the newest event on screen (a web-chat reply is refused if another browser wrote since)
  // check: { drafted_after, confirm } (a colleague's reply since drafted_after is a 409 unless confirm)
  reply: (id, text, channel, seen, check = {}) =>
    call("POST", `/api/conversations/${id}/messages`,
      { text, ...(channel ? { channel } : {}), ...(seen ? { seen } : {}), ...(check.drafted_after ? check : {}) }),
  note: (id, text) => call("POST", `/api/conversations/${id}/notes`, { text }),
  assign: (id, agentId) => call("POST", `/api/conversations/${id}/assign`, { agent_id: agentId }),
  take: (id, agentId) => call("POST", `/api/conversations/${id}/assign`, { agent_id: agentId, take: true }),
  // The live floor (web/floor-view.js; supervisors and admins): as it is now, and setting an agent Away.
  floor: () => call("GET", "/api/floor"),
  setAway: (agentId) => call("POST", `/api/floor/agents/${encodeURIComponent(agentId)}/away`),
  setStatus: (id, status) => call("POST", `/api/conversations/${id}/status`, { status }),
  markRead: (id, upto) => call("POST", `/api/conversations/${id}/read`, { upto }),
  transfer: (id, { teamId = null, agentId = null, note = null }) =>
    call("POST", `/api/conversations/${id}/transfer`, { team_id: teamId, agent_id: agentId, note }),
  handBack: (id) => call("POST", `/api/conversations/${id}/hand-back`, {}),
  teams: () => call("GET", "/api/teams"),
  presence: () => call("GET", "/api/presence"),
  setPresence: (available) => call("PUT", "/api/presence", { available }),

  templates: () => call("GET", "/api/templates"),
  template: (key) => call("GET", `/api/templates/${encodeURIComponent(key)}`),
  placeholders: () => call("GET", "/api/templates/placeholders"),
  previewTemplate: (content) => call("POST", "/api/templates/preview", { content }),
  createTemplate: (key, purpose, content) => call("POST", "/api/templates", { key, purpose, content }),
  saveDraft: (key, body) => call("PUT", `/api/templates/${encodeURIComponent(key)}/draft`, body),
  publishTemplate: (key, seen) =>
    call("POST", `/api/templates/${encodeURIComponent(key)}/publish`, { seen_updated_at: seen }),
  discardDraft: (key) => call("DELETE", `/api/templates/${encodeURIComponent(key)}/draft`),
  restoreTemplate: (key, number, seen) =>
    call("POST", `/api/templates/${encodeURIComponent(key)}/restore`, { number, seen_updated_at: seen }),
  fillTemplate: (conversationId, key, channel) =>
    call("GET", `/api/conversations/${conversationId}/templates/${encodeURIComponent(key)}?${query({ channel })}`),
  checkLanguage: (text, locale) => call("POST", "/api/language/check", { text, locale }),
  cannedReplies: () => call("GET", "/api/canned"),
  createCanned: (body) => call("POST", "/api/canned", body),
  updateCanned: (id, body) => call("PATCH", `/api/canned/${Number(id)}`, body),
  fillCanned: (conversationId, id, channel) =>
    call("GET", `/api/conversations/${conversationId}/canned/${Number(id)}?${query({ channel })}`),
  replyChannelsSetUp: () => call("GET", "/api/reply-channels"),

  // Sign-in's second step and one's own account (no session-expired handling before signing in).
  setup: () => send("GET", "/api/auth/setup"),
  loginTotp: (ticket, code) => send("POST", "/api/auth/login/totp", { ticket, code }),
  loginEnrol: (ticket) => send("POST", "/api/auth/login/enrol", { ticket }),
  loginEnrolConfirm: (enrolment, code) => send("POST", "/api/auth/login/enrol/confirm", { enrolment, code }),
  resetPassword: (login, code, password) => send("POST", "/api/auth/reset", { login, code, password }),
  mfa: () => call("GET", "/api/auth/mfa"),
  mfaEnrol: () => call("POST", "/api/auth/mfa/enrol", {}),
  mfaConfirm: (enrolment, code) => call("POST", "/api/auth/mfa/confirm", { enrolment, code }),
  changePassword: (current, next) => call("POST", "/api/auth/password", { current, new: next }),

  // Administrators: staff, teams, the MFA policy, the audit trail.
  agents: () => call("GET", "/api/agents"),
  createAgent: (body) => call("POST", "/api/agents", body),
  changeAgent: (id, changes) => call("PATCH", `/api/agents/${id}`, changes),
  resetCode: (id) => call("POST", `/api/agents/${id}/password-reset`, {}),
  resetMfa: (id) => call("POST", `/api/agents/${id}/mfa-reset`, {}),
  policy: () => call("GET", "/api/security/policy"),
  setPolicy: (required) => call("PUT", "/api/security/policy", { mfa_required: required }),
  createTeam: (body) => call("POST", "/api/teams", body),
  changeTeam: (id, changes) => call("PATCH", `/api/teams/${id}`, changes),
  teamHours: () => call("GET", "/api/teams/hours"),
  setTeamHours: (id, hours) => call("PUT", `/api/teams/${id}/hours`, hours),
  holidays: () => call("GET", "/api/holidays"),
  addHoliday: (body) => call("POST", "/api/holidays", body),
  audit: (params) => call("GET", `/api/audit?${query(params)}`),
  auditExportUrl: (params) => `/api/audit/export.csv?${query(params)}`,
  // The EHR link (web/ehr-view.js).
  ehrLink: () => call("GET", "/api/fhir/link"),
  ehrImports: () => call("GET", "/api/fhir/imports"),
  // The patient directory (web/directory-view.js) and CSV imports (web/import-view.js).
  directory: ({ q = "", cursor = null, limit = 25 } = {}) => call("GET", `/api/patients?${query({ q, cursor, limit })}`),
  csvUpload: (file) => call("POST", "/api/imports/csv", file),
  csvPreview: (id, body) => call("POST", `/api/imports/csv/${id}/preview`, body),
  csvStart: (id, body) => call("POST", `/api/imports/csv/${id}/start`, body),
  csvRun: (id) => call("GET", `/api/imports/csv/${id}`),
  startEhrImport: (body) => call("POST", "/api/fhir/imports", body),
  resumeEhrImport: (id) => call("POST", `/api/fhir/imports/${id}/resume`, {}),

  breakGlass: (body) => call("POST", "/api/break-glass", body),
  grants: () => call("GET", "/api/break-glass"),

  // A patient's record (web/patient-view.js): edits, merges, writing first.
  editPatient: (id, changes) => call("PATCH", `/api/patients/${id}`, changes),
  addContact: (id, body) => call("POST", `/api/patients/${id}/contact-points`, body),
  removeContact: (id, pointId) => call("DELETE", `/api/patients/${id}/contact-points/${pointId}`),
  addIdentifier: (id, body) => call("POST", `/api/patients/${id}/identifiers`, body),
  patientDirectory: (q) => call("GET", `/api/patients?${query({ q, limit: 10 })}`),
  mergePreview: (id, source) => call("GET", `/api/patients/${id}/merge-preview?${query({ source })}`),
  merge: (id, body) => call("POST", `/api/patients/${id}/merges`, body),
  unmerge: (mergeId) => call("POST", `/api/patients/merges/${mergeId}/undo`, {}),
  startConversation: (id, body) => call("POST", `/api/patients/${id}/conversations`, body),
  fillPatientTemplate: (id, key, channel) =>
    call("GET", `/api/patients/${id}/templates/${encodeURIComponent(key)}?${query({ channel })}`),
};
