// Telling the agent something needs them while they look elsewhere: a desktop notification (the
// browser's Notification API) and a short tone (WebAudio, no file), each switched on or off in the
// inbox and remembered by this browser; and how many conversations wait for them in the tab's title.
//
// A notification says what happened and nothing about whom: a lock screen may show it, so never a
// patient's name or words ("A conversation was handed to you", "Urgent conversation waiting").
// Permission is asked only when the agent turns desktop notifications on (a click: a user gesture).

import { h } from "./dom.js";
import { t } from "./strings.js";

const STORE = { desktop: "puente.notify.desktop", sound: "puente.notify.sound" };
const TONE = { handed: 660, message: 520, urgent: 880 }; // Hz: an urgent one sounds higher

function stored(key, fallback) {
  try {
    const value = localStorage.getItem(key);
    return value === null ? fallback : value === "on";
  } catch {
    return fallback;
  }
}

function store(key, on) {
  try {
    localStorage.setItem(key, on ? "on" : "off");
  } catch {
    // private mode: the choice lasts as long as the page
  }
}

const supported = () => typeof window.Notification === "function";

/** What a frame means for `me`: "handed", "urgent", "message" or null. `alerted(c)`: whether `me` is in
 * the circle alerted about an urgent conversation (conversation-list.js, alertedAbout). */
export function noticeFor(frame, me, alerted) {
  const { event, conversation } = frame;
  const data = event.data || {};
  const byMe = event.author_type === "agent" && event.author_id === me.id;
  if (event.kind === "urgent_alert") return alerted(conversation) ? "urgent" : null;
  if ((event.kind === "assignment" || event.kind === "transfer") && data.assignee_id === me.id && !byMe) {
    return conversation.urgent_since ? null : "handed"; // an urgent one is told by its alert
  }
  if (event.kind === "message_in" && conversation.assignee_id === me.id) return "message";
  return null;
}

const TEXT = { handed: "notify.handedToYou", urgent: "notify.urgent", message: "notify.newMessage" };

export class Notifier {
  /** onOpen(id): the agent clicked a notification. */
  constructor({ onOpen }) {
    this.onOpen = onOpen;
    this.waiting = new Set(); // conversations with something for this agent, not yet opened
    this.audio = null;
    this.sounds = 0;
    this.desktop = h("input", { type: "checkbox", id: "notify-desktop", "data-testid": "notify-desktop" });
    this.sound = h("input", { type: "checkbox", id: "notify-sound", "data-testid": "notify-sound" });
    this.message = h("p", { class: "notify-message", role: "status", "data-testid": "notify-message" });
    this.desktop.checked = supported() && Notification.permission === "granted" && stored(STORE.desktop, true);
    this.desktop.disabled = !supported();
    this.sound.checked = stored(STORE.sound, true);
    this.desktop.addEventListener("change", () => this.#desktopChanged());
    this.sound.addEventListener("change", () => {
      store(STORE.sound, this.sound.checked);
      if (this.sound.checked) this.#tone("handed"); // hear what it sounds like; also unlocks audio (a gesture)
    });
    this.element = h("details", { class: "notify-settings", "data-testid": "notify-settings" },
      h("summary", { class: "notify-summary", "data-testid": "notify-toggle" }, t("notify.settings")),
      h("div", { class: "notify-body" },
        h("label", { class: "notify-option", for: "notify-desktop" }, this.desktop, t("notify.desktop")),
        h("label", { class: "notify-option", for: "notify-sound" }, this.sound, t("notify.sound")),
        this.message));
    if (!supported()) this.#say(t("notify.unsupported"));
    this.#renderTitle();
  }

  /** Turned on: ask the browser (this runs in the click's gesture); refused, it stays off and says why. */
  async #desktopChanged() {
    this.#say("");
    if (!this.desktop.checked) {
      store(STORE.desktop, false);
      return;
    }
    let permission = Notification.permission;
    if (permission === "default") {
      try {
        permission = await Notification.requestPermission();
      } catch {
        permission = "denied";
      }
    }
    this.desktop.checked = permission === "granted";
    store(STORE.desktop, this.desktop.checked);
    if (!this.desktop.checked) this.#say(t("notify.denied"));
  }

  #say(text) {
    this.message.textContent = text;
    this.message.hidden = !text;
  }

  /**
   * A live frame (not a backfill): tell the agent when it concerns them. selectedId: the conversation
   * open on screen (a message there, while the agent looks at it, needs no telling).
   */
  onFrame(frame, { me, alerted, selectedId }) {
    const kind = noticeFor(frame, me, alerted);
    if (!kind) return;
    const id = frame.conversation.id;
    const looking = id === selectedId && document.visibilityState === "visible" && document.hasFocus();
    if (kind === "message" && looking) return;
    if (!looking) {
      this.waiting.add(id);
      this.#renderTitle();
    }
    if (this.desktop.checked) this.#notify(kind, id);
    if (this.sound.checked) this.#tone(kind);
  }

  /** The agent opened the conversation: it no longer counts in the title. */
  seen(id) {
    if (this.waiting.delete(id)) this.#renderTitle();
  }

  #renderTitle() {
    const title = t("app.title");
    document.title = this.waiting.size ? t("notify.title", { n: this.waiting.size, title }) : title;
  }

  #notify(kind, id) {
    if (!supported() || Notification.permission !== "granted") return;
    try {
      // The tag replaces an earlier notification about the same conversation instead of piling up.
      const note = new Notification(t(TEXT[kind]), { tag: `puente-${kind}-${id}`, icon: "/favicon.svg" });
      note.onclick = () => {
        window.focus();
        this.onOpen(id);
        note.close();
      };
    } catch {
      // some browsers allow notifications only from a service worker: the title and the tone still tell
    }
  }

  #tone(kind) {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    try {
      this.audio ??= new Context();
      if (this.audio.state === "suspended") this.audio.resume().catch(() => {});
      const start = this.audio.currentTime + 0.01;
      const oscillator = this.audio.createOscillator();
      const gain = this.audio.createGain();
      oscillator.type = "sine";
      oscillator.frequency.value = TONE[kind];
      gain.gain.setValueAtTime(0.0001, start);
      gain.gain.exponentialRampToValueAtTime(0.2, start + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.35);
      oscillator.connect(gain).connect(this.audio.destination);
      oscillator.start(start);
      oscillator.stop(start + 0.4);
      this.sounds += 1;
      this.element.dataset.sounds = String(this.sounds); // what a test can see of a sound
    } catch {
      // no audio device: the notification and the title still tell
    }
  }

  close() {
    this.audio?.close().catch(() => {});
    this.audio = null;
  }
}
