// The live stream client (protocol: http/stream.go). It keeps one WebSocket open,
// reconnecting with capped exponential backoff and jitter when the link drops, and
// hands the app batches of state once per animation frame: a picture of 2,000
// tracks reporting every 10 s is 200 messages a second, and applying each on its
// own would keep the main thread busy redrawing.
//
// Messages are state, not deltas, so the pending batch keeps only the newest
// message per track, incident, alert and area: a background tab (where animation
// frames stop) holds at most one entry per object instead of an ever-growing queue.

const World = [-180, -90, 180, 90];
// "operations" are the approved and underway patrols and the open response tasks.
const AllLayers = ["tracks", "incidents", "alerts", "areas", "operations"];

const backoffBase = 1000;
const backoffCap = 30000;
const stableAfter = 10000; // a connection that lasted this long resets the backoff

// createStream: handlers = {onBatch(batch), onState(state, since), onAuthLost()}.
// batch = {reset, tracks: Map uid→TrackState, left: Set uid, incidents: Map,
//          alerts: Map, areas: Map, areasDeleted: Set id, patrols: Map, tasks: Map,
//          snapshotEnd: null | {tracks: Set, alerts: Set, areas: Set, patrols: Set, tasks: Set}}
export function createStream(handlers) {
  let ws = null;
  let view = { bbox: World, layers: AllLayers };
  let attempt = 0;
  let retryTimer = 0;
  let stopped = true;
  let state = "offline";
  let since = null; // when the picture stopped being live
  let openedAt = 0;
  let everLive = false;

  // The snapshot being received: what it named, so that whatever it did not name
  // can be dropped at its end.
  let snap = null;
  let batch = emptyBatch();
  let scheduled = false;
  let timeoutFlush = 0;
  // While held, batches are merged and kept rather than handed over: the app opens
  // the stream while the map is still loading, so that the snapshot is on its way
  // in parallel, and takes it in one batch once the map can draw it.
  let held = false;

  function emptyBatch() {
    return { reset: false, tracks: new Map(), left: new Set(), incidents: new Map(), alerts: new Map(), areas: new Map(), areasDeleted: new Set(), patrols: new Map(), tasks: new Map(), snapshotEnd: null, size: 0 };
  }

  function setState(s) {
    if (s === state) return;
    state = s;
    if (s === "live") since = null;
    else if (!since && everLive) since = new Date();
    handlers.onState?.(s, since);
  }

  function schedule() {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(flush);
    // Animation frames do not run in a hidden tab; the timer keeps the panels (and
    // the alert sound) current there, at a slower pace.
    timeoutFlush = setTimeout(flush, 1000);
  }

  function flush() {
    if (!scheduled) return;
    scheduled = false;
    clearTimeout(timeoutFlush);
    if (held) return;
    const b = batch;
    batch = emptyBatch();
    if (b.size === 0 && !b.reset && !b.snapshotEnd) return;
    try {
      handlers.onBatch?.(b);
    } catch (e) {
      console.error("applying stream batch", e);
    }
  }

  function inView(p) {
    const [w, s, e, n] = view.bbox;
    return p && p.lon >= w && p.lon <= e && p.lat >= s && p.lat <= n;
  }

  function newer(prev, next, timeOf) {
    return !prev || timeOf(next) >= timeOf(prev);
  }

  function handle(m) {
    const d = m.data;
    switch (m.type) {
      case "snapshot.begin":
        snap = { tracks: new Set(), alerts: new Set(), areas: new Set(), patrols: new Set(), tasks: new Set() };
        break;
      case "snapshot.end":
        if (snap) batch.snapshotEnd = snap;
        snap = null;
        attemptLive();
        break;
      case "resync":
        // Events were lost: what we hold may be wrong; the snapshot that follows
        // replaces it (the app drops whatever the snapshot does not name).
        batch.reset = true;
        break;
      case "position": {
        if (!d || !d.uid) break;
        if (!inView(d.position)) {
          batch.tracks.delete(d.uid);
          batch.left.add(d.uid);
          break;
        }
        const prev = batch.tracks.get(d.uid);
        if (newer(prev, d, (x) => Date.parse(x.position?.time) || 0)) batch.tracks.set(d.uid, d);
        batch.left.delete(d.uid);
        snap?.tracks.add(d.uid);
        break;
      }
      case "incident": {
        if (!d) break;
        const prev = batch.incidents.get(d.id);
        if (!prev || d.version >= prev.version) batch.incidents.set(d.id, d);
        break;
      }
      case "alert": {
        if (!d) break;
        const prev = batch.alerts.get(d.id);
        if (!prev || d.version >= prev.version) batch.alerts.set(d.id, d);
        snap?.alerts.add(d.id);
        break;
      }
      case "area": {
        if (!d) break;
        const prev = batch.areas.get(d.id);
        if (!prev || d.version >= prev.version) batch.areas.set(d.id, d);
        batch.areasDeleted.delete(d.id);
        snap?.areas.add(d.id);
        break;
      }
      // Patrols and tasks: every change of status comes as a message (a patrol
      // that completes, a task that closes), so the app can drop what ended.
      case "patrol":
      case "task": {
        if (!d) break;
        const into = m.type === "patrol" ? batch.patrols : batch.tasks;
        const prev = into.get(d.id);
        if (!prev || d.version >= prev.version) into.set(d.id, d);
        (m.type === "patrol" ? snap?.patrols : snap?.tasks)?.add(d.id);
        break;
      }
      case "area.deleted":
        if (d) {
          batch.areas.delete(d.id);
          batch.areasDeleted.add(d.id);
        }
        break;
      case "error":
        console.warn("stream refused a message", m.field, m.detail);
        return;
      default:
        return; // a newer server's message type: ignore
    }
    batch.size++;
    schedule();
  }

  function attemptLive() {
    setState("live");
    everLive = true;
  }

  function connect() {
    clearTimeout(retryTimer);
    if (stopped) return;
    setState(everLive ? "offline" : "connecting");
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    let sock;
    try {
      sock = new WebSocket(`${proto}//${location.host}/api/v1/stream`);
    } catch {
      retry();
      return;
    }
    ws = sock;
    sock.onopen = () => {
      openedAt = Date.now();
      send(sock);
    };
    sock.onmessage = (ev) => {
      let m;
      try {
        m = JSON.parse(ev.data);
      } catch {
        return;
      }
      handle(m);
    };
    sock.onclose = (ev) => {
      if (ws !== sock) return;
      ws = null;
      snap = null;
      if (stopped) return;
      if (Date.now() - openedAt > stableAfter) attempt = 0;
      openedAt = 0;
      if (everLive) setState("offline");
      if (ev.code === 4001) {
        // Our credentials changed or ended: ask the app who we are now before
        // trying again (it may send us back to the sign-in page).
        Promise.resolve(handlers.onAuthLost?.()).then((ok) => {
          if (ok !== false && !stopped) retry(true);
        });
        return;
      }
      retry();
    };
    sock.onerror = () => {
      /* onclose follows and decides */
    };
  }

  function retry(soon) {
    clearTimeout(retryTimer);
    if (stopped) return;
    // Full jitter on a capped exponential: many browsers that lost the same
    // satellite link must not all come back in the same second.
    const ceiling = Math.min(backoffCap, backoffBase * 2 ** attempt);
    const delay = soon ? 250 : Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
    attempt = Math.min(attempt + 1, 10);
    handlers.onRetry?.(Date.now() + delay);
    retryTimer = setTimeout(connect, delay);
  }

  function send(sock = ws) {
    if (sock && sock.readyState === WebSocket.OPEN) {
      sock.send(JSON.stringify({ type: "subscribe", bbox: view.bbox, layers: view.layers }));
    }
  }

  function onOnline() {
    if (!stopped && !ws) {
      attempt = 0;
      connect();
    }
  }
  function onOffline() {
    // The browser knows the link is gone: say so now rather than when TCP notices.
    if (ws) ws.close();
  }

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      attempt = 0;
      window.addEventListener("online", onOnline);
      window.addEventListener("offline", onOffline);
      connect();
    },
    // hold keeps batches back until release, which hands over what came meanwhile
    // at once.
    hold() {
      held = true;
    },
    release() {
      if (!held) return;
      held = false;
      if (batch.size || batch.reset || batch.snapshotEnd) {
        scheduled = true;
        flush();
      }
    },
    stop() {
      stopped = true;
      held = false;
      clearTimeout(retryTimer);
      window.removeEventListener("online", onOnline);
      window.removeEventListener("offline", onOffline);
      const s = ws;
      ws = null;
      if (s) s.close(1000, "signed out");
      everLive = false;
      since = null;
      state = "offline";
      batch = emptyBatch();
      scheduled = false;
      clearTimeout(timeoutFlush);
    },
    // reconnectNow skips the wait (the user pressed "Reconnect").
    reconnectNow() {
      if (stopped) return;
      attempt = 0;
      if (ws) ws.close();
      else connect();
    },
    // subscribe changes the view: a new snapshot follows.
    subscribe(bbox = World, layers = AllLayers) {
      view = { bbox, layers };
      send();
    },
    state: () => state,
    since: () => since,
  };
}
