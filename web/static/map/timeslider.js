// The time slider: live, or a window of the past (last 24 h, last 7 days, or a
// custom one) whose track positions are replayed from GET /api/v1/positions/replay
// and whose incidents are shown up to the slider's moment.
import { Replay } from "./tracks.js";
import { el, tr, retranslate, dateTime } from "./util.js";

const HOUR = 3600;
const presets = { "24h": 24 * HOUR, "7d": 7 * 24 * HOUR };
const speeds = [60, 300, 1800, 3600, 10800]; // seconds of history per second
const MAX_STEPS = 720; // one fix per track per step: bounds the replay's size
const MAX_WINDOW = 7 * 24 * HOUR; // what the server replays at most

export class TimeSlider {
  // hooks: api, bbox() → [w,s,e,n], staleAfter, onLive(bool), onFrame(frame), onIncidentWindow(fromMs|null, toMs|null)
  constructor(hooks) {
    this.h = hooks;
    this.mode = "live"; // "live" | "24h" | "7d" | "custom"
    this.from = 0; // unix seconds
    this.to = 0;
    this.t = 0;
    this.step = 60;
    this.playing = false;
    this.replay = null;
    this.abort = null;
    this.raf = 0;
    this.lastIncUpdate = 0;
    this.build();
    this.#liveRange();
    this.clock = setInterval(() => this.mode === "live" && this.#liveRange(), 30000);
  }

  build() {
    const presetBtn = (key, label) => el("button", {
      type: "button", class: "bh-btn bh-time-preset", "aria-pressed": "false", dataset: { preset: key }, i18n: label,
      onclick: () => (key === "custom" ? this.#showCustom() : this.#choose(key)),
    });
    this.liveBtn = el("button", { id: "time-live", type: "button", class: "bh-btn bh-time-live", "aria-pressed": "true", i18n: "map.time.live", onclick: () => this.goLive() });
    this.presetBtns = [presetBtn("24h", "map.time.24h"), presetBtn("7d", "map.time.7d"), presetBtn("custom", "map.time.custom")];
    this.playBtn = el("button", { type: "button", class: "bh-btn bh-time-play", disabled: true, i18nAria: "map.time.play", onclick: () => this.toggle() });
    this.playBtn.innerHTML = playIcon;
    this.speed = el("select", { class: "bh-time-speed", i18nAria: "map.time.speed" },
      speeds.map((s) => el("option", { value: String(s), i18n: "map.time.speed." + s })));
    this.speed.value = "1800";
    this.label = el("output", { class: "bh-time-label", "aria-live": "off" });
    this.status = el("span", { class: "bh-time-status", role: "status" });
    this.range = el("input", { id: "time-slider", type: "range", min: "0", max: "1", step: "1", value: "1", i18nAria: "map.time.slider" });
    this.range.addEventListener("input", () => this.#seek(Number(this.range.value)));
    this.fromIn = el("input", { type: "datetime-local", class: "bh-time-from", i18nAria: "map.time.from" });
    this.toIn = el("input", { type: "datetime-local", class: "bh-time-to", i18nAria: "map.time.to" });
    this.custom = el("form", { class: "bh-time-custom", hidden: true, onsubmit: (e) => { e.preventDefault(); this.#applyCustom(); } },
      el("label", {}, el("span", { i18n: "map.time.from" }), this.fromIn),
      el("label", {}, el("span", { i18n: "map.time.to" }), this.toIn),
      el("button", { type: "submit", class: "bh-btn bh-btn-primary", i18n: "map.time.apply" }));
    this.root = el("div", { id: "time-panel", class: "bh-time", role: "group", i18nAria: "map.time.region" },
      el("div", { class: "bh-time-row" }, this.liveBtn, ...this.presetBtns, this.playBtn, this.speed, this.label, this.status),
      this.custom,
      this.range);
  }

  relabel() {
    retranslate(this.root);
    this.#label();
  }

  isLive() {
    return this.mode === "live";
  }

  // goLive returns to the live picture.
  goLive() {
    this.pause();
    this.abort?.abort();
    this.replay = null;
    this.custom.hidden = true;
    this.#setMode("live");
    this.#liveRange();
    this.status.textContent = "";
    this.h.onIncidentWindow(null, null);
    this.h.onLive(true);
  }

  toggle() {
    if (this.playing) this.pause();
    else this.play();
  }

  play() {
    if (this.mode === "live" || !this.replay) return;
    if (this.t >= this.to) this.#seek(this.from);
    this.playing = true;
    this.playBtn.innerHTML = pauseIcon;
    this.playBtn.dataset.bhI18nAria = "map.time.pause";
    retranslate(this.playBtn, true);
    let last = performance.now();
    const tick = (now) => {
      if (!this.playing) return;
      const dt = Math.min(now - last, 250) / 1000; // a hidden page resumes without a jump
      last = now;
      const t = Math.min(this.to, this.t + dt * Number(this.speed.value));
      this.#seek(t, true);
      if (t >= this.to) this.pause();
      else this.raf = requestAnimationFrame(tick);
    };
    this.raf = requestAnimationFrame(tick);
  }

  pause() {
    if (!this.playing) return;
    this.playing = false;
    cancelAnimationFrame(this.raf);
    this.playBtn.innerHTML = playIcon;
    this.playBtn.dataset.bhI18nAria = "map.time.play";
    retranslate(this.playBtn, true);
    this.#incidents(true);
  }

  destroy() {
    this.pause();
    this.abort?.abort();
    clearInterval(this.clock);
  }

  #setMode(m) {
    this.mode = m;
    this.liveBtn.setAttribute("aria-pressed", String(m === "live"));
    for (const b of this.presetBtns) b.setAttribute("aria-pressed", String(b.dataset.preset === m));
    this.playBtn.disabled = m === "live" || !this.replay;
    this.root.dataset.mode = m;
  }

  // In live mode the slider spans the last 24 hours and sits at now: dragging it
  // back opens that window at the moment chosen.
  #liveRange() {
    const now = Math.ceil(Date.now() / 1000 / 60) * 60;
    this.from = now - presets["24h"];
    this.to = now;
    this.t = now;
    this.step = 60;
    this.#rangeAttrs();
    this.#label();
  }

  #rangeAttrs() {
    this.range.min = String(this.from);
    this.range.max = String(this.to);
    this.range.step = String(this.step);
    this.range.value = String(this.t);
  }

  #label() {
    const text = this.mode === "live" ? tr("map.time.liveNow") : dateTime(this.t * 1000);
    this.label.textContent = this.mode === "live" ? "" : text;
    this.range.setAttribute("aria-valuetext", text);
  }

  #showCustom() {
    const open = this.custom.hidden;
    this.custom.hidden = !open;
    if (!open) return;
    const to = this.mode === "live" ? Date.now() : this.to * 1000;
    const from = this.mode === "live" ? to - presets["24h"] * 1000 : this.from * 1000;
    this.fromIn.value = localInput(from);
    this.toIn.value = localInput(to);
    this.fromIn.focus();
  }

  #applyCustom() {
    const from = Date.parse(this.fromIn.value) / 1000;
    const to = Date.parse(this.toIn.value) / 1000;
    if (!Number.isFinite(from) || !Number.isFinite(to) || from >= to) {
      this.status.textContent = tr("map.time.badRange");
      return;
    }
    if (to - from > MAX_WINDOW) {
      this.status.textContent = tr("map.time.tooLong");
      return;
    }
    this.custom.hidden = true;
    this.#open("custom", from, to, to);
  }

  #choose(key) {
    const to = Math.ceil(Date.now() / 1000 / 60) * 60;
    this.custom.hidden = true;
    this.#open(key, to - presets[key], to, to);
  }

  // #open enters a window of the past at moment t and loads its positions.
  async #open(mode, from, to, t) {
    this.pause();
    this.abort?.abort();
    const wasLive = this.mode === "live";
    this.#setMode(mode);
    this.from = from;
    this.to = to;
    this.step = Math.max(60, Math.ceil((to - from) / MAX_STEPS / 60) * 60);
    this.t = Math.min(to, Math.max(from, t));
    this.replay = null;
    this.playBtn.disabled = true;
    this.#rangeAttrs();
    this.#label();
    if (wasLive) this.h.onLive(false);
    this.h.onFrame({ features: [], trails: [] });
    this.#incidents(true);
    const ac = new AbortController();
    this.abort = ac;
    this.status.textContent = tr("map.time.loading");
    const q = new URLSearchParams({
      from: new Date(from * 1000).toISOString(), to: new Date(to * 1000).toISOString(),
      step: this.step + "s", bbox: this.h.bbox().join(","),
    });
    try {
      const data = await this.h.api("/api/v1/positions/replay?" + q, { signal: ac.signal });
      if (ac.signal.aborted) return;
      this.replay = new Replay(data || {}, this.h.staleAfter);
      this.playBtn.disabled = false;
      // The server may widen the step to keep the answer small; the slider follows.
      if (Number(data?.step) > 0) {
        this.step = Number(data.step);
        this.range.step = String(this.step);
      }
      this.status.textContent = !this.replay.tracks.length ? tr("map.time.noHistory") : data?.truncated ? tr("map.time.truncated") : "";
      this.#seek(this.t);
    } catch (e) {
      if (ac.signal.aborted || e?.name === "AbortError") return;
      this.status.textContent = tr("map.time.failed");
    }
  }

  #seek(t, fromPlay = false) {
    if (this.mode === "live") {
      // Dragging the live slider opens the last 24 hours at that moment.
      if (t < this.to - this.step / 2) this.#open("24h", this.from, this.to, t);
      else this.range.value = String(this.to);
      return;
    }
    this.t = t;
    if (String(this.range.value) !== String(Math.round(t))) this.range.value = String(t);
    this.#label();
    if (this.replay) this.h.onFrame(this.replay.frame(t));
    this.#incidents(!fromPlay);
  }

  // Incidents follow the slider, but a clustered source of 20,000 points is not
  // rebuilt sixty times a second: once a second while playing.
  #incidents(now) {
    if (this.mode === "live") return;
    const p = performance.now();
    if (!now && p - this.lastIncUpdate < 1000) return;
    this.lastIncUpdate = p;
    this.h.onIncidentWindow(this.from * 1000, this.t * 1000);
  }
}

const playIcon = '<svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true"><path d="M8 5v14l11-7z" fill="currentColor"/></svg>';
const pauseIcon = '<svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true"><path d="M6 5h4v14H6zM14 5h4v14h-4z" fill="currentColor"/></svg>';

// localInput writes ms as a datetime-local value in the browser's zone.
function localInput(ms) {
  const d = new Date(ms);
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}
