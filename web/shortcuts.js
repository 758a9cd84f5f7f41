// Keyboard shortcuts for the inbox, and their help on "?".
//
// j / k (or the arrow keys inside the list) move between conversations, Enter opens one, r goes to
// the reply box (Esc steps out of it), Esc closes an open panel (transfer, snooze) or leaves the
// conversation for the list, "g" then "i" goes to the inbox (then "p"
// to patients), "/" to search (app.js). Ctrl/Cmd+Enter sends from the composer (composer.js). None
// fires while the agent types in a field, nor with Ctrl, Cmd or Alt held (the browser's own keys).
//
// The help is a modal <dialog>: focus stays inside it, Esc or its button closes it, and focus goes
// back to where it was.

import { h } from "./dom.js";
import { t } from "./strings.js";

const SEQUENCE_MS = 1500; // "g" waits this long for its second key

/** The shortcuts the help lists, as [keys, description key]; keys are shown as <kbd>s. */
const HELP = [
  [["j"], "keys.next"],
  [["k"], "keys.previous"],
  [["↓", "↑"], "keys.arrows"],
  [["Enter"], "keys.open"],
  [["r"], "keys.reply"],
  [["Ctrl", "Enter"], "keys.send"],
  [["Esc"], "keys.leave"],
  [["g", "i"], "keys.inbox"],
  [["g", "p"], "keys.patients"],
  [["/"], "keys.search"],
  [["?"], "keys.help"],
];

function typingIn(target) {
  return target instanceof HTMLElement
    && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
}

const visible = (el) => el.getClientRects().length > 0;

/** The conversation rows the list shows now (none when another screen, or the open conversation on a
 * narrow screen, hides the list). */
function rows() {
  return [...document.querySelectorAll('[data-testid="conversation-item"]')].filter(visible);
}

function move(step) {
  const links = rows();
  if (!links.length) return false;
  const at = links.indexOf(document.activeElement);
  const selected = links.findIndex((a) => a.getAttribute("aria-current") === "page");
  const from = at >= 0 ? at : selected;
  const next = from < 0 ? (step < 0 ? links.length - 1 : 0) : Math.min(links.length - 1, Math.max(0, from + step));
  links[next].focus();
  links[next].scrollIntoView({ block: "nearest" });
  return true;
}

function focusReply() {
  const reply = document.querySelector('[data-testid="composer-mode-reply"]');
  const text = document.querySelector('[data-testid="composer-text"]');
  if (!text || !visible(text)) return false;
  if (reply && reply.getAttribute("aria-pressed") !== "true") reply.click();
  text.focus();
  return true;
}

/** Goes to `hash`, then (once the screen is drawn) runs `then`. */
function goTo(hash, then = () => {}) {
  const after = () => requestAnimationFrame(() => then());
  if (location.hash === hash) after();
  else {
    window.addEventListener("hashchange", after, { once: true });
    location.hash = hash;
  }
  return true;
}

/** Esc with a panel of the conversation open (transfer, snooze, the template picker): it closes,
 * and focus goes back to the button that opened it. */
function closePanel() {
  const toggle = [...document.querySelectorAll('#detail [aria-expanded="true"]')].find(visible);
  if (!toggle) return false;
  toggle.click();
  toggle.focus();
  return true;
}

/** Esc in a conversation: back to the list, on that conversation's row. */
function leave() {
  const open = /^#\/c\/(\d+)/.exec(location.hash);
  if (!open) return false;
  return goTo("#/", () => (rows().find((a) => a.dataset.conversationId === open[1]) || rows()[0])?.focus());
}

class HelpDialog {
  constructor() {
    this.element = null;
    this.returnTo = null;
  }

  get open() {
    return Boolean(this.element?.open);
  }

  show() {
    this.returnTo = document.activeElement;
    this.element?.remove();
    const close = h("button", { type: "button", class: "button small", "data-testid": "shortcuts-close",
      onclick: () => this.element.close() }, t("keys.close"));
    this.element = h("dialog", { class: "shortcuts-dialog", "aria-labelledby": "shortcuts-title",
      "data-testid": "shortcuts-dialog" },
      h("h2", { id: "shortcuts-title", class: "shortcuts-title" }, t("keys.title")),
      h("p", { class: "shortcuts-intro" }, t("keys.intro")),
      h("dl", { class: "shortcuts-list" },
        HELP.map(([keys, label]) => h("div", { class: "shortcut" },
          h("dt", {}, keys.map((k, i) => [i ? " " : null, h("kbd", {}, k === "Esc" ? t("keys.esc") : k)])),
          h("dd", {}, t(label))))),
      h("div", { class: "shortcuts-actions" }, close));
    this.element.addEventListener("keydown", (ev) => this.#trap(ev));
    this.element.addEventListener("close", () => {
      this.element.remove();
      const back = this.returnTo;
      this.returnTo = null;
      if (back instanceof HTMLElement && back.isConnected) back.focus();
    });
    document.body.append(this.element);
    this.element.showModal();
    close.focus();
  }

  /** Tab and Shift+Tab cycle inside the dialog. */
  #trap(ev) {
    if (ev.key !== "Tab") return;
    const focusable = [...this.element.querySelectorAll("button, [href], [tabindex]:not([tabindex='-1'])")];
    if (!focusable.length) return;
    const first = focusable[0];
    const last = focusable[focusable.length - 1];
    if (ev.shiftKey && document.activeElement === first) {
      ev.preventDefault();
      last.focus();
    } else if (!ev.shiftKey && document.activeElement === last) {
      ev.preventDefault();
      first.focus();
    }
  }
}

/** Listens for the shortcuts while `active()` says the inbox is shown (not the sign-in page). */
export function installShortcuts({ active }) {
  const help = new HelpDialog();
  let pending = null; // "g", waiting for its second key
  let pendingAt = 0;
  window.addEventListener("keydown", (ev) => {
    if (ev.defaultPrevented || ev.ctrlKey || ev.metaKey || ev.altKey || !active() || help.open) return;
    if (ev.isComposing) return;
    if (typingIn(ev.target)) {
      // Esc in the reply box steps out of it (onto the timeline), keeping the draft; Esc again leaves.
      if (ev.key === "Escape" && ev.target.matches('[data-testid="composer-text"]')) {
        ev.preventDefault();
        document.querySelector('[data-testid="timeline-scroll"]')?.focus();
      } else if (ev.key === "Escape" && closePanel()) {
        ev.preventDefault();
      }
      return;
    }
    if (document.querySelector("dialog[open]")) return; // another dialog has the keyboard
    const key = ev.key;
    if (pending === "g" && Date.now() - pendingAt < SEQUENCE_MS) {
      pending = null;
      const hash = { i: "#/", p: "#/patients" }[key];
      if (hash) {
        ev.preventDefault();
        goTo(hash, () => (hash === "#/" ? move(0) : null));
      }
      return;
    }
    pending = null;
    const inList = ev.target instanceof Element && ev.target.closest('[data-testid="conversation-list"]');
    let done = false;
    if (key === "?") {
      help.show();
      done = true;
    } else if (key === "g" && !ev.shiftKey) {
      pending = "g";
      pendingAt = Date.now();
      done = true;
    } else if (key === "j" || (key === "ArrowDown" && inList)) {
      done = move(1);
    } else if (key === "k" || (key === "ArrowUp" && inList)) {
      done = move(-1);
    } else if (key === "r") {
      done = focusReply();
    } else if (key === "Escape") {
      done = closePanel() || leave();
    }
    if (done) ev.preventDefault();
  });
  return help;
}
