// Puente web chat: the widget a clinic embeds on its own site with one tag.
//
//   <script src="https://HUB/widget.js" async></script>
//
// Optional attributes on that tag: data-lang="es" (else the visitor's browser language),
// data-open="true" (open at once), and for a patient signed in to the clinic's portal,
// data-user-id and data-user-signature (hex HMAC-SHA256 of the id with the clinic's
// widget identity secret, computed by the clinic's server, never in the browser), and
// optionally data-user-name.
//
// Everything the widget shows comes from the hub's translated strings and is put on the page
// as text, never as HTML. Its state (the visitor token) is kept in this site's localStorage.
(() => {
  "use strict";

  const script = document.currentScript;
  if (!script || window.__puenteChat) return;
  const HUB = new URL(script.src).origin;
  const STORE_KEY = `puente-chat:${HUB}`;
  const WS_URL = `${HUB.replace(/^http/, "ws")}/api/webchat/socket`;
  const TYPING_EVERY_MS = 2000;
  const TYPING_SHOWN_MS = 6000;
  const MAX_TEXT = 2000;

  // --- small helpers ----------------------------------------------------------------------

  function h(tag, attrs = {}, ...children) {
    const el = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") el.className = value;
      else if (name.startsWith("on") && typeof value === "function") el.addEventListener(name.slice(2), value);
      else el.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      el.append(child instanceof Node ? child : String(child));
    }
    return el;
  }

  function fill(template, params) {
    return template.replace(/\{(\w+)\}/g, (whole, key) => (key in params ? String(params[key]) : whole));
  }

  /** A microphone, drawn (an emoji needs a font the visitor may not have). */
  function micIcon() {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    for (const [k, v] of Object.entries({ viewBox: "0 0 24 24", width: "16", height: "16", "aria-hidden": "true",
      fill: "none", stroke: "currentColor", "stroke-width": "2", "stroke-linecap": "round", class: "mic-icon" })) {
      svg.setAttribute(k, v);
    }
    for (const d of ["M12 3a3 3 0 0 0-3 3v6a3 3 0 0 0 6 0V6a3 3 0 0 0-3-3z", "M5 11a7 7 0 0 0 14 0", "M12 18v3"]) {
      const path = document.createElementNS(ns, "path");
      path.setAttribute("d", d);
      svg.append(path);
    }
    return svg;
  }

  /** 75.4 -> "1:15" */
  function clock(seconds) {
    const whole = Math.max(0, Math.round(seconds));
    return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, "0")}`;
  }

  function newId() {
    const bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    return `m-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
  }

  /** The saved chat, unless it expired or belongs to someone else than who is signed in to the
   * portal now (a shared computer must not show the previous patient's chat). */
  function load() {
    let saved = null;
    try {
      saved = JSON.parse(localStorage.getItem(STORE_KEY) || "null");
    } catch {
      saved = null;
    }
    if (!saved || !saved.token || !(Date.parse(saved.expires_at) > Date.now())) return null;
    const signedIn = identity();
    if ((saved.user_id || null) !== (signedIn ? signedIn.user_id : null)) {
      save(null);
      return null;
    }
    return saved;
  }

  function save(session) {
    try {
      if (session) localStorage.setItem(STORE_KEY, JSON.stringify(session));
      else localStorage.removeItem(STORE_KEY);
    } catch {
      // private mode: the chat still works, it just does not survive a reload
    }
  }

  class HubError extends Error {
    constructor(status, detail) {
      super(detail);
      this.status = status;
      this.detail = detail;
    }
  }

  // --- the hub's API --------------------------------------------------------------------

  class Api {
    constructor(chat) {
      this.chat = chat;
    }

    async call(method, path, body) {
      const headers = { accept: "application/json", "accept-language": this.chat.language || "" };
      const raw = body instanceof Blob; // a voice message goes as it was recorded
      if (body !== undefined) headers["content-type"] = raw ? body.type || "application/octet-stream" : "application/json";
      if (this.chat.session) headers.authorization = `Bearer ${this.chat.session.token}`;
      let response;
      try {
        response = await fetch(HUB + path, {
          method, headers, mode: "cors", credentials: "omit", cache: "no-store",
          body: body === undefined || raw ? body : JSON.stringify(body),
        });
      } catch {
        throw new HubError(0, this.chat.t("network"));
      }
      let data = null;
      try {
        data = await response.json();
      } catch {
        data = null;
      }
      if (response.ok) return data;
      throw new HubError(response.status, (data && typeof data.detail === "string" && data.detail) || this.chat.t("network"));
    }
  }

  // --- the live connection ---------------------------------------------------------------

  class Connection {
    constructor(chat) {
      this.chat = chat;
      this.socket = null;
      this.lastSeq = 0;
      this.attempt = 0;
      this.timer = null;
      this.stopped = true;
      this.live = false;
    }

    start() {
      this.stopped = false;
      this.open();
    }

    stop() {
      this.stopped = true;
      clearTimeout(this.timer);
      const socket = this.socket;
      this.socket = null;
      if (socket) socket.close(1000, "closed");
      this.setLive(false);
    }

    open() {
      clearTimeout(this.timer);
      if (this.stopped || !this.chat.session) return;
      const socket = new WebSocket(WS_URL);
      this.socket = socket;
      socket.addEventListener("open", () => {
        socket.send(JSON.stringify({ type: "hello", token: this.chat.session.token, after: this.lastSeq }));
      });
      socket.addEventListener("message", (msg) => {
        if (socket !== this.socket) return;
        let frame;
        try {
          frame = JSON.parse(msg.data);
        } catch {
          return;
        }
        this.frame(frame);
      });
      socket.addEventListener("close", (ev) => {
        if (socket !== this.socket) return;
        this.socket = null;
        this.setLive(false);
        if (ev.code === 4401) {
          this.chat.expired(); // the token is gone: a new chat starts from the form
          return;
        }
        this.schedule(ev.code === 4008 ? 0 : null);
      });
    }

    frame(frame) {
      switch (frame.type) {
        case "message":
          if (frame.seq > this.lastSeq) this.lastSeq = frame.seq;
          this.chat.received(frame);
          break;
        case "ready":
          if (frame.last_seq > this.lastSeq) this.lastSeq = frame.last_seq;
          this.attempt = 0;
          this.setLive(true);
          this.chat.readUpTo(frame.read_upto);
          this.chat.flush();
          break;
        case "read":
          this.chat.readUpTo(frame.upto);
          break;
        case "typing":
          this.chat.staffTyping(frame.name);
          break;
        case "resync":
          this.lastSeq = 0;
          this.chat.restart();
          break;
        default:
          break; // newer hubs may say more; this widget ignores what it does not know
      }
    }

    send(frame) {
      if (this.socket && this.socket.readyState === WebSocket.OPEN && this.live) {
        this.socket.send(JSON.stringify(frame));
      }
    }

    setLive(live) {
      this.live = live;
      this.chat.renderConnection();
    }

    schedule(delayMs) {
      if (this.stopped) return;
      const base = Math.min(15000, 500 * 2 ** this.attempt);
      this.attempt += 1;
      this.timer = setTimeout(() => this.open(), delayMs ?? base * (0.5 + Math.random() / 2));
    }
  }

  // --- the widget ------------------------------------------------------------------------

  const STYLE = `
    :host { all: initial; }
    * { box-sizing: border-box; }
    .root { position: fixed; right: 20px; bottom: 20px; z-index: 2147483000;
      font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1c2430; }
    .launcher { border: 0; border-radius: 999px; padding: 12px 18px; background: #0b6e6e; color: #fff;
      font: inherit; font-weight: 600; cursor: pointer; box-shadow: 0 6px 18px rgba(0,0,0,.2); }
    .launcher:focus-visible, button:focus-visible, input:focus-visible, textarea:focus-visible, select:focus-visible {
      outline: 3px solid #f0b429; outline-offset: 2px; }
    .panel { width: min(380px, calc(100vw - 24px)); height: min(600px, calc(100vh - 100px)); display: flex;
      flex-direction: column; background: #fff; border-radius: 14px; overflow: hidden;
      box-shadow: 0 12px 40px rgba(0,0,0,.25); margin-bottom: 12px; }
    .panel[hidden] { display: none; }
    header { background: #0b6e6e; color: #fff; padding: 12px 14px; display: flex; align-items: center; gap: 8px; }
    header h2 { font-size: 16px; margin: 0; flex: 1; }
    .conn { font-size: 12px; opacity: .9; }
    .icon { background: transparent; border: 0; color: inherit; font: inherit; cursor: pointer; padding: 4px 8px;
      border-radius: 6px; }
    .notice { background: #fff7e0; color: #5c4400; font-size: 13px; padding: 8px 14px; margin: 0; }
    .body { flex: 1; overflow-y: auto; padding: 12px 14px; background: #f6f8fa; }
    form.prechat { display: flex; flex-direction: column; gap: 10px; }
    label { display: flex; flex-direction: column; gap: 4px; font-size: 13px; font-weight: 600; }
    .hint { font-weight: 400; color: #4a5563; }
    input, textarea, select { font: inherit; padding: 8px 10px; border: 1px solid #b8c2cc; border-radius: 8px;
      background: #fff; color: inherit; }
    .primary { background: #0b6e6e; color: #fff; border: 0; border-radius: 8px; padding: 9px 14px; font: inherit;
      font-weight: 600; cursor: pointer; }
    .primary:disabled { opacity: .6; cursor: default; }
    .secondary { background: #fff; color: #0b6e6e; border: 1px solid #0b6e6e; border-radius: 8px; padding: 8px 12px;
      font: inherit; cursor: pointer; }
    .error { color: #a4161a; font-size: 13px; margin: 0; }
    ol.log { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: 8px; }
    .msg { max-width: 85%; display: flex; flex-direction: column; }
    .msg.you { align-self: flex-end; align-items: flex-end; }
    .bubble { padding: 8px 11px; border-radius: 12px; background: #fff; border: 1px solid #dde3e9;
      white-space: pre-wrap; overflow-wrap: anywhere; }
    .you .bubble { background: #0b6e6e; color: #fff; border-color: #0b6e6e; }
    .meta { font-size: 11px; color: #4a5563; margin: 2px 4px; }
    .status.failed { color: #a4161a; cursor: pointer; text-decoration: underline; background: none; border: 0;
      font: inherit; padding: 0; }
    .typing { font-size: 12px; color: #4a5563; min-height: 18px; padding: 0 14px; background: #f6f8fa; margin: 0; }
    .verify { background: #e8f4f4; border-top: 1px solid #cfe3e3; padding: 10px 14px; display: flex;
      flex-direction: column; gap: 8px; font-size: 13px; }
    .verify .row { display: flex; gap: 8px; flex-wrap: wrap; }
    .verify input { width: 8em; letter-spacing: .15em; }
    form.compose { display: flex; gap: 8px; padding: 10px; border-top: 1px solid #dde3e9; background: #fff; }
    form.compose textarea { flex: 1; resize: none; height: 44px; }
    .empty { color: #4a5563; font-size: 14px; text-align: center; margin: 24px 8px; }
    form.csat { display: flex; flex-direction: column; gap: 6px; margin-top: 6px; background: #fff; border: 1px solid #dde3e9;
      border-radius: 12px; padding: 8px 10px; }
    .csat-q { margin: 0; font-size: 13px; font-weight: 600; }
    .stars { display: flex; gap: 2px; }
    label.star { flex-direction: row; position: relative; font-size: 26px; line-height: 1; color: #8a6d00; cursor: pointer; padding: 2px; }
    label.star input { position: absolute; opacity: 0; width: 1px; height: 1px; }
    label.star:has(input:focus-visible) { outline: 3px solid #1d4ed8; outline-offset: 1px; border-radius: 4px; }
    .stars:has(input:checked) label.star:has(input:checked) ~ label.star { color: #b8c2cc; }
    .sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
    .csat-done { margin: 6px 0 0; font-size: 13px; color: #1f5d3a; }
    .mic { padding: 8px 10px; line-height: 0; }
    .mic-icon { vertical-align: -3px; }
    .recording { display: flex; gap: 8px; align-items: center; padding: 10px; border-top: 1px solid #dde3e9;
      background: #fff; flex-wrap: wrap; }
    .rec-clock { flex: 1; font-size: 13px; font-variant-numeric: tabular-nums; }
    .rec-dot { width: 10px; height: 10px; border-radius: 50%; background: #c62828; animation: rec 1s infinite; }
    @keyframes rec { 50% { opacity: .25; } }
    .rec-note { font-size: 12px; color: #4a5563; margin: 0; padding: 6px 12px 0; background: #fff; }
    .rec-note.error { color: #a4161a; }
    .status.refused { color: #a4161a; }
    .sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
    .launcher-wrap { display: flex; justify-content: flex-end; }
  `;

  class Chat {
    constructor(strings) {
      this.strings = strings.strings;
      this.clinic = strings.clinic;
      this.languages = strings.languages;
      this.language = strings.language;
      this.session = load();
      this.api = new Api(this);
      this.connection = new Connection(this);
      this.messages = new Map(); // seq -> {node, frame}
      this.pending = new Map(); // own id -> {text, node, state}
      this.readSeq = 0;
      this.lastTypingSent = 0;
      this.typingTimer = null;
      this.verification = null; // {to} while a code is awaited
      this.isOpen = false;
      this.unread = 0;
      this.readReported = 0;
      this.voiceLimits = { seconds: strings.voice_max_seconds || 0, bytes: strings.voice_max_bytes || 0 };
      this.recording = null; // the voice message being recorded

      const host = h("div", { id: "puente-chat", "data-testid": "puente-chat-host" });
      this.shadow = host.attachShadow({ mode: "open" });
      // A constructed stylesheet, not a <style> element: a clinic page whose CSP forbids inline styles
      // still draws the widget (docs/deployment.md).
      if ("adoptedStyleSheets" in this.shadow && typeof CSSStyleSheet.prototype.replaceSync === "function") {
        const sheet = new CSSStyleSheet();
        sheet.replaceSync(STYLE);
        this.shadow.adoptedStyleSheets = [sheet];
      } else {
        this.shadow.append(h("style", {}, STYLE));
      }
      this.launcher = h("button", { class: "launcher", type: "button", "aria-expanded": "false",
        "data-testid": "chat-launcher", onclick: () => this.toggle() }, this.t("launcher"));
      this.connText = h("span", { class: "conn", role: "status", "data-testid": "chat-connection" });
      // Scrolls: reachable by keyboard (tabindex) so a keyboard user can read back the history.
      this.body = h("div", { class: "body", tabindex: "0", "aria-label": this.title(), "data-testid": "chat-body" });
      this.typingLine = h("p", { class: "typing", "aria-live": "polite", "data-testid": "chat-typing" });
      this.verifyBox = h("div", { class: "verify", hidden: true, "data-testid": "chat-verify" });
      this.footer = h("div", {});
      this.panel = h("section", { class: "panel", role: "dialog", "aria-label": this.title(), hidden: true,
        "data-testid": "chat-panel" },
        h("header", {},
          h("h2", {}, this.title()),
          this.connText,
          this.endButton = h("button", { class: "icon", type: "button", "data-testid": "chat-end", hidden: true,
            onclick: () => this.end() }, this.t("end")),
          h("button", { class: "icon", type: "button", "aria-label": this.t("close"), "data-testid": "chat-close",
            onclick: () => this.toggle(false) }, "✕")),
        h("p", { class: "notice" }, this.t("emergency")),
        this.body,
        this.typingLine,
        this.verifyBox,
        this.footer);
      this.shadow.append(h("div", { class: "root" }, this.panel, h("div", { class: "launcher-wrap" }, this.launcher)));
      document.body.append(host);

      document.addEventListener("visibilitychange", () => this.markRead());
      window.addEventListener("online", () => {
        this.flush();
        if (!this.connection.socket && !this.connection.stopped) this.connection.open();
      });
    }

    t(key, params = {}) {
      return fill(this.strings[key] || key, { clinic: this.clinic, ...params });
    }

    title() {
      return this.t("title");
    }

    setUnread(count) {
      this.unread = count;
      this.launcher.textContent = count ? `${this.t("launcher")} (${count})` : this.t("launcher");
    }

    toggle(open = !this.isOpen) {
      this.isOpen = open;
      if (open) this.setUnread(0);
      this.panel.hidden = !open;
      this.launcher.setAttribute("aria-expanded", String(open));
      if (!open) return;
      if (this.session) {
        if (this.connection.stopped) this.startChat();
        this.markRead();
        this.focusComposer();
      } else if (identity()) {
        this.startSession({ identity: identity(), name: identityName(), language: this.language });
      } else {
        this.showForm();
      }
    }

    // --- before the chat: the pre-chat form --------------------------------------------

    showForm(error = "") {
      const name = h("input", { name: "name", autocomplete: "name", maxlength: "100", "aria-required": "true",
        "data-testid": "chat-name" });
      const contact = h("input", { name: "contact", autocomplete: "tel", maxlength: "320",
        "data-testid": "chat-contact" });
      const language = h("select", { name: "language", "data-testid": "chat-language" },
        this.languages.map((code) => h("option", { value: code, selected: code === this.language },
          new Intl.DisplayNames([code], { type: "language" }).of(code))));
      language.addEventListener("change", () => this.switchLanguage(language.value));
      const problem = h("p", { class: "error", role: "alert", "data-testid": "chat-form-error" }, error);
      const submit = h("button", { class: "primary", type: "submit", "data-testid": "chat-start" }, this.t("start"));
      const form = h("form", { class: "prechat", "data-testid": "chat-form" },
        h("p", {}, this.t("intro")),
        h("label", {}, this.t("name"), name),
        h("label", {}, this.t("contact"), h("span", { class: "hint" }, this.t("contactHint")), contact),
        h("label", {}, this.t("language"), language),
        problem,
        submit);
      form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        if (!name.value.trim()) {
          problem.textContent = this.t("nameNeeded");
          name.focus();
          return;
        }
        submit.disabled = true;
        submit.textContent = this.t("starting");
        const ok = await this.startSession({ name: name.value.trim(), language: this.language });
        if (!ok) {
          submit.disabled = false;
          submit.textContent = this.t("start");
          return;
        }
        if (contact.value.trim()) this.requestCode(contact.value.trim());
      });
      this.body.replaceChildren(form);
      this.footer.replaceChildren();
      this.endButton.hidden = true;
      name.focus();
    }

    async switchLanguage(language) {
      try {
        const strings = await this.api.call("GET", `/api/webchat/strings?lang=${encodeURIComponent(language)}`);
        this.strings = strings.strings;
        this.language = strings.language;
        this.rebuild();
      } catch {
        // keep the current language
      }
    }

    /** Redraw the chrome in the newly chosen language. */
    rebuild() {
      this.setUnread(this.unread);
      this.panel.setAttribute("aria-label", this.title());
      this.panel.querySelector("h2").textContent = this.title();
      this.panel.querySelector(".notice").textContent = this.t("emergency");
      this.endButton.textContent = this.t("end");
      this.panel.querySelector("[data-testid=chat-close]").setAttribute("aria-label", this.t("close"));
      if (!this.session) this.showForm();
    }

    async startSession(body) {
      try {
        const session = await this.api.call("POST", "/api/webchat/sessions", body);
        if (body.identity) session.user_id = body.identity.user_id;
        this.session = session;
        save(session);
        this.startChat();
        return true;
      } catch (err) {
        if (body.identity) this.showForm(err.detail); // the portal's signature failed: chat as a guest
        else this.body.querySelector("[data-testid=chat-form-error]").textContent = err.detail;
        return false;
      }
    }

    // --- the chat ---------------------------------------------------------------------

    startChat() {
      if (this.session.language && this.session.language !== this.language) this.switchLanguage(this.session.language);
      this.log = h("ol", { class: "log", "data-testid": "chat-log" });
      this.emptyNote = h("p", { class: "empty", "data-testid": "chat-empty" }, this.t("empty"));
      // The live region wraps the list: a role on the <ol> itself would stop it being a list.
      this.body.replaceChildren(this.emptyNote, h("div", { role: "log", "aria-live": "polite" }, this.log));
      this.messages.clear();
      const text = h("textarea", { rows: "2", maxlength: String(MAX_TEXT), "aria-label": this.t("placeholder"),
        placeholder: this.t("placeholder"), "data-testid": "chat-text" });
      text.addEventListener("input", () => this.typing());
      text.addEventListener("keydown", (ev) => {
        if (ev.key === "Enter" && !ev.shiftKey) {
          ev.preventDefault();
          form.requestSubmit();
        }
      });
      const form = h("form", { class: "compose" }, text,
        this.canRecord() ? h("button", { class: "secondary mic", type: "button", "data-testid": "chat-record",
          "aria-label": this.t("record"), title: this.t("record"), onclick: () => this.startRecording() }, micIcon()) : null,
        h("button", { class: "primary", type: "submit", "data-testid": "chat-send" }, this.t("send")));
      this.composeForm = form;
      this.recordNote = h("p", { class: "rec-note", role: "status", hidden: true, "data-testid": "chat-record-note" });
      form.addEventListener("submit", (ev) => {
        ev.preventDefault();
        const value = text.value.trim();
        if (!value) return;
        text.value = "";
        this.lastTypingSent = 0; // what they type next is news again
        this.sendMessage(value);
      });
      this.text = text;
      this.footer.replaceChildren(this.recordNote, form);
      this.endButton.hidden = false;
      if (!this.session.verified && !this.verification) this.renderLinkOffer();
      this.connection.lastSeq = 0;
      this.connection.start();
      this.focusComposer();
    }

    focusComposer() {
      if (this.text && this.isOpen) this.text.focus();
    }

    renderConnection() {
      this.connText.textContent = this.connection.live ? "" : this.t(navigator.onLine ? "connecting" : "offline");
    }

    /** A message frame from the hub (history or live). */
    received(frame) {
      if (this.messages.has(frame.seq)) return;
      let node = null;
      let label = null;
      if (frame.author === "you" && frame.id && this.pending.has(frame.id)) {
        ({ node, label } = this.pending.get(frame.id)); // the message the visitor just sent, now stored
        this.pending.delete(frame.id);
      }
      node = this.renderMessage(frame, node, label);
      this.messages.set(frame.seq, { node, frame });
      this.place(node, frame.seq);
      if (frame.author !== "you") {
        if (!this.isOpen && this.connection.live) this.setUnread(this.unread + 1);
        this.clearTyping();
        this.connection.send({ type: "receipt", status: "delivered", upto: frame.seq });
        this.markRead();
      }
      this.setStatus(frame);
      this.scrollDown();
    }

    renderMessage(frame, node, label = null) {
      // The visitor's own message without text is a voice message they recorded.
      const text = frame.text || (frame.author === "you" ? [micIcon(), " ", label || this.t("voiceMessage")] : "");
      const who = frame.author === "you" ? this.t("you")
        : frame.author === "agent" ? (frame.name || this.t("team"))
          : frame.author === "bot" ? this.t("assistant") : this.t("team");
      const time = new Date(frame.created_at).toLocaleTimeString(this.language, { hour: "numeric", minute: "2-digit" });
      const fresh = h("li", { class: `msg ${frame.author === "you" ? "you" : "them"}`, "data-testid": "chat-message",
        "data-author": frame.author, "data-seq": frame.seq },
        h("span", { class: "meta" }, `${who} · ${time}`),
        h("div", { class: "bubble", "data-testid": "chat-message-text" }, text),
        frame.author === "you" ? h("span", { class: "meta status", "data-testid": "chat-message-status" }) : null,
        frame.survey && frame.author !== "you" ? this.stars(frame.seq) : null);
      if (node) node.replaceWith(fresh);
      return fresh;
    }

    /** The satisfaction question's answer (hub/csat/): 1 to 5 stars as radio buttons, a comment, once. */
    stars(seq) {
      const box = h("div", { class: "stars", role: "radiogroup", "aria-labelledby": `csat-q-${seq}` });
      for (let n = 1; n <= 5; n += 1) {
        const input = h("input", { type: "radio", name: `csat-${seq}`, value: String(n), id: `csat-${seq}-${n}`,
          "data-testid": `csat-star-${n}` });
        box.append(h("label", { class: "star", for: `csat-${seq}-${n}` }, input,
          h("span", { "aria-hidden": "true" }, "★"), h("span", { class: "sr" }, this.t("csatStars", { n }))));
      }
      const comment = h("textarea", { rows: "2", maxlength: "1000", id: `csat-c-${seq}`, "data-testid": "csat-comment" });
      const error = h("p", { class: "error", role: "alert" });
      const send = h("button", { class: "primary", type: "submit", "data-testid": "csat-send" }, this.t("csatSend"));
      const form = h("form", { class: "csat", "data-testid": "csat-form" },
        h("p", { class: "csat-q", id: `csat-q-${seq}` }, this.t("csatQuestion")), box,
        h("label", { for: `csat-c-${seq}` }, this.t("csatComment"), comment), error, send);
      form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        const picked = form.querySelector("input:checked");
        if (!picked) {
          error.textContent = this.t("csatChoose");
          box.querySelector("input").focus();
          return;
        }
        send.disabled = true;
        try {
          await this.api.call("POST", "/api/webchat/csat", { score: Number(picked.value), comment: comment.value.trim() || null });
          form.replaceWith(h("p", { class: "csat-done", role: "status", "data-testid": "csat-thanks" }, this.t("csatThanks")));
        } catch (err) {
          send.disabled = false;
          if (err.status === 409) form.replaceWith(h("p", { class: "csat-done", role: "status" }, this.t("csatAlready")));
          else error.textContent = this.t("error", { detail: err.detail });
        }
      });
      return form;
    }

    /** Keep the log in seq order; pending messages stay at the end. */
    place(node, seq) {
      this.emptyNote.hidden = true;
      for (const child of this.log.children) {
        const other = Number(child.dataset.seq);
        if (child !== node && (!child.dataset.seq || other > seq)) {
          this.log.insertBefore(node, child);
          return;
        }
      }
      if (node.parentNode !== this.log || node.nextSibling) this.log.append(node);
    }

    setStatus(frame) {
      if (frame.author !== "you") return;
      const entry = this.messages.get(frame.seq);
      const status = entry?.node.querySelector("[data-testid=chat-message-status]");
      if (!status) return;
      const read = frame.seq <= this.readSeq;
      status.dataset.status = read ? "read" : "sent";
      status.textContent = this.t(read ? "read" : "sent");
    }

    readUpTo(seq) {
      if (!(seq > this.readSeq)) return;
      this.readSeq = seq;
      for (const { frame } of this.messages.values()) this.setStatus(frame);
    }

    /** The visitor has the chat in view: what staff wrote is read. */
    markRead() {
      if (!this.isOpen || document.visibilityState !== "visible") return;
      let newest = 0;
      for (const [seq, { frame }] of this.messages) if (frame.author !== "you" && seq > newest) newest = seq;
      if (newest > this.readReported) {
        this.readReported = newest;
        this.connection.send({ type: "receipt", status: "read", upto: newest });
      }
    }

    scrollDown() {
      this.body.scrollTop = this.body.scrollHeight;
    }

    // --- sending ----------------------------------------------------------------------

    sendMessage(text) {
      const id = newId();
      const node = h("li", { class: "msg you", "data-testid": "chat-message", "data-author": "you", "data-pending": id },
        h("div", { class: "bubble", "data-testid": "chat-message-text" }, text),
        h("span", { class: "meta status", "data-testid": "chat-message-status", "data-status": "sending" },
          this.t("sending")));
      this.emptyNote.hidden = true;
      this.log.append(node);
      this.pending.set(id, { text, node, state: "sending" });
      this.scrollDown();
      this.post(id);
    }

    /** POST one pending message; the same id on every try, so it is stored once. */
    async post(id, attempt = 0) {
      const entry = this.pending.get(id);
      if (!entry) return;
      entry.state = "sending";
      try {
        const sent = entry.voice
          ? await this.api.call("POST", `/api/webchat/voice?id=${id}&language=${encodeURIComponent(this.language)}`,
            entry.voice)
          : await this.api.call("POST", "/api/webchat/messages", { id, text: entry.text, language: this.language });
        if (this.pending.has(id)) { // the socket may not have brought it yet
          entry.seq = sent.seq;
          const status = entry.node.querySelector("[data-testid=chat-message-status]");
          status.dataset.status = "sent";
          status.textContent = this.t("sent");
        }
      } catch (err) {
        if (err.status === 401) {
          this.expired();
          return;
        }
        if ((err.status === 0 || err.status === 429 || err.status >= 500) && attempt < 6) {
          entry.state = "waiting"; // offline or busy: try again, the hub stores it once
          setTimeout(() => this.post(id, attempt + 1), Math.min(30000, 1000 * 2 ** attempt));
          return;
        }
        entry.state = "failed";
        const status = entry.node.querySelector("[data-testid=chat-message-status]");
        if (entry.voice && err.status >= 400 && err.status < 500) { // refused (too large, not audio): say why
          status.className = "meta status refused";
          status.dataset.status = "refused";
          status.textContent = err.detail;
          return;
        }
        status.replaceWith(h("button", { type: "button", class: "meta status failed", "data-testid": "chat-message-status",
          "data-status": "failed", title: err.detail, onclick: (ev) => {
            ev.currentTarget.replaceWith(h("span", { class: "meta status", "data-testid": "chat-message-status",
              "data-status": "sending" }, this.t("sending")));
            this.post(id);
          } }, this.t("failed")));
      }
    }

    // --- voice messages ---------------------------------------------------------------

    canRecord() {
      return Boolean(this.voiceLimits.seconds && navigator.mediaDevices && navigator.mediaDevices.getUserMedia
        && window.MediaRecorder);
    }

    showRecordNote(text, error = false) {
      this.recordNote.textContent = text;
      this.recordNote.className = error ? "rec-note error" : "rec-note";
      this.recordNote.hidden = !text;
    }

    async startRecording() {
      if (this.recording) return;
      this.showRecordNote(this.t("micAsking"));
      let stream;
      try {
        // Nothing plays while a voice message is recorded: no echo to cancel, and the words come out clearer.
        stream = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: false } });
      } catch (err) {
        const missing = err && (err.name === "NotFoundError" || err.name === "OverconstrainedError");
        this.showRecordNote(this.t(missing ? "micMissing" : "micDenied"), true);
        return;
      }
      this.showRecordNote("");
      // Chrome and Firefox record Opus (WebM, Ogg), Safari AAC in MP4: the hub takes each as it is.
      const type = ["audio/webm;codecs=opus", "audio/mp4", "audio/ogg;codecs=opus", "audio/webm"]
        .find((t) => MediaRecorder.isTypeSupported(t));
      const recorder = new MediaRecorder(stream, type ? { mimeType: type } : undefined);
      const rec = { recorder, stream, chunks: [], bytes: 0, started: Date.now(), send: false, limit: null };
      this.recording = rec;
      recorder.addEventListener("dataavailable", (ev) => {
        if (!ev.data || !ev.data.size) return;
        rec.chunks.push(ev.data);
        rec.bytes += ev.data.size;
        const most = this.voiceLimits.bytes;
        if (most && rec.bytes > most * 0.9) this.stopRecording(true, `${Math.floor(most / 1048576)} MB`);
      });
      recorder.addEventListener("stop", () => this.recorded(rec));
      recorder.start(1000);
      const timer = h("span", { class: "rec-clock", role: "timer", "data-testid": "chat-recording" });
      const send = h("button", { class: "primary", type: "button", "data-testid": "chat-record-send",
        onclick: () => this.stopRecording(true) }, this.t("stopSend"));
      this.footer.replaceChildren(this.recordNote, h("div", { class: "recording" },
        h("span", { class: "rec-dot", "aria-hidden": "true" }), timer, send,
        h("button", { class: "secondary", type: "button", "data-testid": "chat-record-cancel",
          onclick: () => this.stopRecording(false) }, this.t("cancelRecording"))));
      const tick = () => {
        const seconds = (Date.now() - rec.started) / 1000;
        timer.textContent = this.t("recording", { elapsed: clock(seconds), limit: clock(this.voiceLimits.seconds) });
        if (seconds >= this.voiceLimits.seconds) this.stopRecording(true, clock(this.voiceLimits.seconds));
      };
      tick();
      rec.timer = setInterval(tick, 250);
      send.focus();
    }

    /** Stop recording; send it (limit: the limit that stopped it, shown) or throw it away. */
    stopRecording(send, limit = null) {
      const rec = this.recording;
      if (!rec || rec.stopping) return;
      Object.assign(rec, { stopping: true, send, limit, seconds: (Date.now() - rec.started) / 1000 });
      clearInterval(rec.timer);
      if (rec.recorder.state !== "inactive") rec.recorder.stop(); // its last data, then "stop"
      else this.recorded(rec);
    }

    recorded(rec) {
      for (const track of rec.stream.getTracks()) track.stop();
      if (this.recording === rec) this.recording = null;
      this.footer.replaceChildren(this.recordNote, this.composeForm);
      if (rec.limit) this.showRecordNote(this.t("voiceLimit", { limit: rec.limit }));
      if (!rec.send || !rec.chunks.length) {
        this.focusComposer();
        return;
      }
      this.sendVoice(new Blob(rec.chunks, { type: rec.recorder.mimeType || rec.chunks[0].type }), rec.seconds);
    }

    sendVoice(blob, seconds) {
      const id = newId();
      const label = this.t("voiceMessageLength", { length: clock(seconds) });
      const node = h("li", { class: "msg you", "data-testid": "chat-message", "data-author": "you", "data-pending": id },
        h("div", { class: "bubble", "data-testid": "chat-message-text" }, micIcon(), " ", label),
        h("span", { class: "meta status", "data-testid": "chat-message-status", "data-status": "sending" },
          this.t("sending")));
      this.emptyNote.hidden = true;
      this.log.append(node);
      this.pending.set(id, { voice: blob, label, node, state: "sending" });
      this.scrollDown();
      this.post(id);
    }

    /** Back online or reconnected: messages that were waiting go now. */
    flush() {
      for (const [id, entry] of this.pending) if (entry.state === "waiting") this.post(id);
    }

    typing() {
      const now = Date.now();
      if (now - this.lastTypingSent < TYPING_EVERY_MS) return;
      this.lastTypingSent = now;
      this.connection.send({ type: "typing" });
    }

    staffTyping(name) {
      this.typingLine.textContent = name ? this.t("typing", { name }) : this.t("typingSomeone");
      clearTimeout(this.typingTimer);
      this.typingTimer = setTimeout(() => this.clearTyping(), TYPING_SHOWN_MS);
    }

    clearTyping() {
      clearTimeout(this.typingTimer);
      this.typingLine.textContent = "";
    }

    // --- proving who you are ----------------------------------------------------------

    renderLinkOffer() {
      const button = h("button", { type: "button", class: "secondary", "data-testid": "chat-link",
        onclick: () => this.renderAddressForm() }, this.t("link"));
      this.verifyBox.replaceChildren(button);
      this.verifyBox.hidden = false;
    }

    renderAddressForm() {
      const contact = h("input", { autocomplete: "tel", maxlength: "320", "aria-label": this.t("linkPrompt"),
        "data-testid": "chat-link-contact" });
      const problem = h("p", { class: "error", role: "alert", "data-testid": "chat-verify-error" });
      const form = h("form", { class: "row" }, contact,
        h("button", { class: "primary", type: "submit" }, this.t("sendCode")),
        h("button", { class: "secondary", type: "button", onclick: () => this.renderLinkOffer() }, this.t("skip")));
      form.addEventListener("submit", (ev) => {
        ev.preventDefault();
        if (contact.value.trim()) this.requestCode(contact.value.trim());
      });
      this.verifyBox.replaceChildren(h("span", {}, this.t("linkPrompt")), form, problem);
      contact.focus();
    }

    async requestCode(contact) {
      const body = contact.includes("@") ? { email: contact } : { phone: contact };
      try {
        const sent = await this.api.call("POST", "/api/webchat/verifications", body);
        this.verification = { to: sent.to, contact };
        this.renderCodeForm();
      } catch (err) {
        this.renderAddressForm();
        this.verifyBox.querySelector("[data-testid=chat-link-contact]").value = contact;
        this.verifyBox.querySelector("[data-testid=chat-verify-error]").textContent = err.detail;
      }
    }

    renderCodeForm(error = "") {
      const code = h("input", { inputmode: "numeric", autocomplete: "one-time-code", maxlength: "6",
        pattern: "[0-9]{6}", "aria-label": this.t("code"), "data-testid": "chat-code" });
      const form = h("form", { class: "row" }, code,
        h("button", { class: "primary", type: "submit", "data-testid": "chat-verify-submit" }, this.t("verify")),
        h("button", { class: "secondary", type: "button", "data-testid": "chat-resend",
          onclick: () => this.requestCode(this.verification.contact) }, this.t("resend")),
        h("button", { class: "secondary", type: "button", "data-testid": "chat-skip", onclick: () => {
          this.verification = null;
          this.renderLinkOffer();
        } }, this.t("skip")));
      form.addEventListener("submit", (ev) => {
        ev.preventDefault();
        this.confirmCode(code.value.trim());
      });
      this.verifyBox.replaceChildren(
        h("span", { "data-testid": "chat-code-prompt" }, this.t("codePrompt", { to: this.verification.to })),
        form,
        h("p", { class: "error", role: "alert", "data-testid": "chat-verify-error" }, error));
      this.verifyBox.hidden = false;
      code.focus();
    }

    async confirmCode(code) {
      try {
        await this.api.call("POST", "/api/webchat/verifications/confirm", { code });
        this.verification = null;
        this.session = { ...this.session, verified: true };
        save(this.session);
        this.verifyBox.replaceChildren(h("span", { role: "status", "data-testid": "chat-verified" }, this.t("verified")));
        setTimeout(() => { this.verifyBox.hidden = true; }, 8000);
      } catch (err) {
        this.renderCodeForm(err.detail);
      }
    }

    // --- ending -----------------------------------------------------------------------

    /** The hub reset the visitor (linked to their records): reload the history. */
    restart() {
      this.connection.stop();
      this.messages.clear();
      this.log.replaceChildren(...[...this.pending.values()].map((p) => p.node));
      this.emptyNote.hidden = this.pending.size > 0;
      this.connection.start();
    }

    expired() {
      if (this.recording) this.stopRecording(false);
      this.connection.stop();
      this.session = null;
      save(null);
      this.pending.clear();
      this.verification = null;
      this.verifyBox.hidden = true;
      if (this.isOpen) this.showForm();
    }

    end() {
      if (this.session && !window.confirm(this.t("endConfirm"))) return;
      this.expired();
      if (!this.isOpen) return;
      this.showForm();
    }
  }

  function identity() {
    const userId = script.dataset.userId;
    const signature = script.dataset.userSignature;
    return userId && signature ? { user_id: userId, signature } : null;
  }

  /** A portal user's name as the clinic's page gives it (display only: the id is what is vouched for). */
  function identityName() {
    return (script.dataset.userName || "").trim().slice(0, 100) || undefined;
  }

  function preferredLanguage() {
    if (script.dataset.lang) return script.dataset.lang;
    const saved = load();
    if (saved?.language) return saved.language;
    return (navigator.languages || [navigator.language]).map((l) => String(l).slice(0, 2).toLowerCase())[0] || "";
  }

  async function boot() {
    let strings;
    try {
      const response = await fetch(`${HUB}/api/webchat/strings?lang=${encodeURIComponent(preferredLanguage())}`,
        { mode: "cors", credentials: "omit" });
      if (!response.ok) return;
      strings = await response.json();
    } catch {
      return; // the hub is unreachable: no launcher rather than a broken one
    }
    const chat = new Chat(strings);
    window.__puenteChat = chat; // a hook for the clinic's page and for tests
    if (chat.session) chat.startChat();
    if (script.dataset.open === "true") chat.toggle(true);
  }

  window.__puenteChat = "loading";
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
  else boot();
})();
