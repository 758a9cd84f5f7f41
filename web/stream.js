// The agent's live stream: one WebSocket on /api/stream that never loses an event.
//
// The client remembers the highest sequence number it has seen. Every (re)connect asks
// for ?after=<that number>: the server replays what was missed from the database, sends
// `ready`, then goes live. Any disconnect (network, server restart, 4008 "too slow") leads
// to a reconnect with backoff; a `resync` frame (too much missed to replay) makes the app
// reload its state over REST and start again from the new last_seq. Frames whose seq was
// already seen are dropped, so a replay that overlaps never shows an event twice.

export const State = Object.freeze({
  CONNECTING: "connecting",
  LIVE: "live",
  RECONNECTING: "reconnecting",
  PAUSED: "paused",
  STOPPED: "stopped",
});

const CLOSE_TOO_SLOW = 4008;
const MAX_DELAY_MS = 15000;
const SEEN_LIMIT = 5000;

export class Stream {
  /**
   * onEvent(frame): an event frame not seen before, in the order received.
   * onResync(frame): reload state over REST; resolves to the new last_seq to continue after.
   * onState(state): the connection state changed.
   * onTyping(frame): someone is writing in a conversation (not stored; fades on its own).
   * onViewing(frame): another staff member opened or left a conversation (not stored; expires_in).
   * checkSession(): before each reconnect; rejects when the session is gone.
   */
  constructor({ onEvent, onResync, onState = () => {}, onTyping = () => {}, onViewing = () => {},
    onBreakGlass = () => {}, checkSession = async () => {} }) {
    this.onEvent = onEvent;
    this.onTyping = onTyping;
    this.onViewing = onViewing;
    this.onResync = onResync;
    this.onState = onState;
    this.checkSession = checkSession;
    this.onBreakGlass = onBreakGlass; // supervisors: someone opened a patient outside their reach
    this.socket = null;
    this.lastSeq = 0;
    this.state = State.STOPPED;
    this.attempt = 0;
    this.connects = 0;
    this.resyncs = 0;
    this.seen = new Set();
    this.timer = null;
    this.resync = null;
    this.wasLive = false;
    this.onWake = () => {
      if (this.timer !== null) this.#reconnectNow();
    };
  }

  /** Connect, replaying everything after `afterSeq`. */
  start(afterSeq) {
    this.stop();
    this.lastSeq = afterSeq;
    this.attempt = 0;
    this.wasLive = false;
    window.addEventListener("online", this.onWake);
    this.#connect();
  }

  /** Close for good (sign-out, session expired). */
  stop() {
    this.#clearTimer();
    window.removeEventListener("online", this.onWake);
    this.#drop();
    this.resync = null;
    this.seen.clear();
    this.#setState(State.STOPPED);
  }

  /** Say something to the server (typing notices); dropped while not live, as it would be stale. */
  send(frame) {
    if (this.state === State.LIVE && this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify(frame));
    }
  }

  /** Debug hook: disconnect and stay disconnected until resume(). */
  pause() {
    this.#clearTimer();
    this.#drop();
    this.#setState(State.PAUSED);
  }

  resume() {
    if (this.state === State.PAUSED) this.#connect();
  }

  #drop() {
    const socket = this.socket;
    this.socket = null; // its close event is ignored from now on
    if (socket && socket.readyState <= WebSocket.OPEN) socket.close(1000, "client closed");
  }

  #setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.onState(state);
  }

  #clearTimer() {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  #connect() {
    this.#clearTimer();
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(`${scheme}//${location.host}/api/stream?after=${this.lastSeq}`);
    this.socket = socket;
    this.connects += 1;
    this.#setState(this.wasLive ? State.RECONNECTING : State.CONNECTING);
    socket.addEventListener("message", (msg) => {
      if (socket === this.socket) this.#frame(socket, msg.data);
    });
    socket.addEventListener("close", (ev) => {
      if (socket === this.socket) this.#closed(ev);
    });
  }

  #frame(socket, data) {
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      console.error("puente: undecodable stream frame");
      return;
    }
    if (frame.type === "event") {
      if (this.seen.has(frame.seq)) return;
      this.#remember(frame.seq);
      if (frame.seq > this.lastSeq) this.lastSeq = frame.seq;
      this.onEvent(frame);
    } else if (frame.type === "ready") {
      if (frame.last_seq > this.lastSeq) this.lastSeq = frame.last_seq;
      this.attempt = 0;
      this.wasLive = true;
      this.#setState(State.LIVE);
    } else if (frame.type === "break_glass") {
      this.onBreakGlass(frame);
    } else if (frame.type === "typing") {
      this.onTyping(frame);
    } else if (frame.type === "viewing") {
      this.onViewing(frame);
    } else if (frame.type === "floor" || frame.type === "presence") {
      // The live floor (web/floor-view.js) and one's availability set by a supervisor (web/app.js).
      window.dispatchEvent(new CustomEvent("puente:frame", { detail: frame }));
    } else if (frame.type === "resync") {
      this.resync = frame; // the server closes next; see #closed
      socket.close(1000, "resync");
    }
  }

  #remember(seq) {
    this.seen.add(seq);
    if (this.seen.size > SEEN_LIMIT) {
      // Sets iterate in insertion order: forget the oldest half.
      let drop = this.seen.size / 2;
      for (const old of this.seen) {
        if (drop-- <= 0) break;
        this.seen.delete(old);
      }
    }
  }

  #closed(ev) {
    this.socket = null;
    if (this.resync) {
      const frame = this.resync;
      this.resync = null;
      this.#setState(State.RECONNECTING);
      this.#resync(frame);
      return;
    }
    this.#schedule(ev.code === CLOSE_TOO_SLOW ? 0 : null);
  }

  async #resync(frame) {
    this.resyncs += 1;
    try {
      const lastSeq = await this.onResync(frame);
      if (this.state === State.STOPPED || this.state === State.PAUSED) return;
      this.seen.clear();
      this.lastSeq = lastSeq;
      this.attempt = 0;
      this.#connect();
    } catch {
      if (this.state === State.STOPPED) return;
      this.resync = frame; // try the reload again after a pause
      this.#schedule(null);
    }
  }

  /** Reconnect after an exponential, jittered backoff (or `delayMs` when given). */
  #schedule(delayMs) {
    this.#setState(State.RECONNECTING);
    const base = Math.min(MAX_DELAY_MS, 250 * 2 ** this.attempt);
    const delay = delayMs ?? base * (0.5 + Math.random() / 2);
    this.attempt += 1;
    this.timer = setTimeout(() => this.#reconnectNow(), delay);
  }

  async #reconnectNow() {
    this.#clearTimer();
    try {
      await this.checkSession();
    } catch (err) {
      if (this.state === State.STOPPED || this.state === State.PAUSED) return;
      this.#schedule(null); // offline: keep trying; a 401 stops us via the app instead
      return;
    }
    if (this.state === State.STOPPED || this.state === State.PAUSED || this.socket) return;
    if (this.resync) {
      const frame = this.resync;
      this.resync = null;
      this.#resync(frame);
      return;
    }
    this.#connect();
  }
}
