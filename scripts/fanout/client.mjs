// The fan-out benchmark's load client: N WebSocket spectators of one match, opened at a steady
// join rate, round-robin over the given URLs. Prints one JSON summary on stdout at the end and
// progress lines on stderr. Started by scripts/bench_fanout.py, which installs `ws` for it:
//
//   node client.mjs --ws-dir DIR --url ws://127.0.0.1:8000/ws/matches/ID --count 500 --rate 100
//
// Per connection it records: opened or not, close code, events received, and for each event
// whose `ts` is after the connection opened, the live delivery lag (receipt time - ts).
// After the match's terminal event the server should close with 1000; a connection it keeps
// open longer than --grace seconds is closed by the client and counted as `held_open`.

import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";

const { values: opt } = parseArgs({
  options: {
    "ws-dir": { type: "string" },
    url: { type: "string", multiple: true },
    count: { type: "string", default: "100" },
    rate: { type: "string", default: "100" },
    timeout: { type: "string", default: "120" },
    grace: { type: "string", default: "5" },
    lags: { type: "string" },
    label: { type: "string", default: "client" },
    deflate: { type: "boolean", default: false },
    progress: { type: "string", default: "2" },
  },
});

const require = createRequire(path.join(opt["ws-dir"] ?? process.cwd(), "package.json"));
const WebSocket = require("ws");

const urls = opt.url ?? [];
const count = Number(opt.count);
const rate = Number(opt.rate);
const timeoutMs = Number(opt.timeout) * 1000;
const graceMs = Number(opt.grace) * 1000;
const label = opt.label;
if (!urls.length || !(count > 0) || !(rate > 0)) {
  console.error("usage: client.mjs --ws-dir DIR --url URL [--url URL2] --count N --rate R");
  process.exit(2);
}

// Wall-clock milliseconds with sub-millisecond resolution, comparable with the server's `ts`.
const origin = performance.timeOrigin;
const now = () => origin + performance.now();

const TS = Buffer.from('"ts":"');
const ID = Buffer.from('"id":"');
const TERMINAL = Buffer.from('"type":"match_');
const QUOTE = 0x22;

// `2026-11-30T09:16:27.123456Z` (or +00:00) to epoch milliseconds, keeping the microseconds.
function parseTs(buf, start) {
  const end = buf.indexOf(QUOTE, start);
  if (end < 0) return NaN;
  const s = buf.toString("latin1", start, end);
  const tail = s.slice(19);
  if (!(tail === "" || tail[0] === "." || tail === "Z" || tail === "+00:00")) return Date.parse(s);
  let ms = Date.parse(s.slice(0, 19) + "Z");
  if (tail[0] === ".") {
    let i = 1;
    while (i < tail.length && tail.charCodeAt(i) >= 48 && tail.charCodeAt(i) <= 57) i++;
    ms += Number("0" + tail.slice(0, i)) * 1000;
    const zone = tail.slice(i);
    if (!(zone === "" || zone === "Z" || zone === "+00:00")) return Date.parse(s);
  }
  return ms;
}

// Event ids are `<ms>-<seq>`: compared as numbers to catch a repeat or a step back.
function idKey(buf, start) {
  const end = buf.indexOf(QUOTE, start);
  const s = buf.toString("latin1", start, end);
  const dash = s.indexOf("-");
  return dash < 0 ? [Number(s), 0] : [Number(s.slice(0, dash)), Number(s.slice(dash + 1))];
}

class Lags {
  constructor() {
    this.chunks = [];
    this.cur = new Float64Array(1 << 20);
    this.n = 0;
    this.total = 0;
  }
  push(v) {
    if (this.n === this.cur.length) {
      this.chunks.push(this.cur);
      this.cur = new Float64Array(1 << 20);
      this.n = 0;
    }
    this.cur[this.n++] = v;
    this.total++;
  }
  all() {
    const out = new Float64Array(this.total);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    out.set(this.cur.subarray(0, this.n), at);
    return out;
  }
}

const conns = [];
const lags = new Lags();
const connectMs = [];
let opened = 0;
let open = 0;
let finished = 0;
let eventsTotal = 0;
let done = false;
const started = now();

function finish(c, code, reason) {
  if (c.closed) return;
  c.closed = true;
  c.code = code;
  c.reason = reason;
  if (c.opened) open--;
  finished++;
  if (c.graceTimer) clearTimeout(c.graceTimer);
  if (finished === count) report();
}

function onMessage(c, data, isBinary) {
  if (isBinary) return;
  c.events++;
  eventsTotal++;
  const t = now();
  const at = data.indexOf(TS);
  if (at >= 0) {
    const ts = parseTs(data, at + TS.length);
    if (ts > c.openAt) lags.push(t - ts);
  }
  const idAt = data.indexOf(ID);
  if (idAt >= 0) {
    const [ms, seq] = idKey(data, idAt + ID.length);
    if (c.lastMs > ms || (c.lastMs === ms && c.lastSeq >= seq)) c.outOfOrder++;
    c.lastMs = ms;
    c.lastSeq = seq;
  }
  const term = data.indexOf(TERMINAL);
  if (term >= 0 && data[term + TERMINAL.length] !== 0x73 /* s: match_started */) {
    c.terminal = true;
    c.graceTimer = setTimeout(() => {
      if (!c.closed) {
        c.heldOpen = true;
        c.ws.close(1000, "client: match over");
      }
    }, graceMs);
  }
}

function openOne(i) {
  const url = urls[i % urls.length];
  const c = {
    i, url, startAt: now(), openAt: Infinity, opened: false, closed: false, code: null,
    reason: "", events: 0, outOfOrder: 0, lastMs: -1, lastSeq: -1, terminal: false,
    heldOpen: false, timedOut: false, error: null, graceTimer: null, ws: null,
  };
  conns.push(c);
  opened++;
  const ws = new WebSocket(url, { perMessageDeflate: opt.deflate, handshakeTimeout: 30000 });
  c.ws = ws;
  ws.on("open", () => {
    c.openAt = now();
    c.opened = true;
    open++;
    connectMs.push(c.openAt - c.startAt);
  });
  ws.on("message", (data, isBinary) => onMessage(c, data, isBinary));
  ws.on("error", (err) => {
    c.error = c.error ?? String(err && err.message ? err.message : err).slice(0, 80);
  });
  ws.on("close", (code, reason) => finish(c, code, reason.toString().slice(0, 120)));
}

function pct(sorted, p) {
  if (!sorted.length) return null;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx];
}

function report() {
  if (done) return;
  done = true;
  clearInterval(joinTimer);
  clearInterval(progressTimer);
  clearTimeout(deadline);
  const closeCodes = {};
  const errors = {};
  const reasons = {};
  for (const c of conns) {
    const key = c.timedOut ? "timeout" : String(c.code);
    closeCodes[key] = (closeCodes[key] ?? 0) + 1;
    if (c.error) errors[c.error] = (errors[c.error] ?? 0) + 1;
    if (c.code !== 1000 && c.reason) {
      const r = c.reason.replace(/[0-9A-Z]{10,}/g, "…");
      reasons[r] = (reasons[r] ?? 0) + 1;
    }
  }
  const all = lags.all();
  if (opt.lags) fs.writeFileSync(opt.lags, Buffer.from(all.buffer, all.byteOffset, all.byteLength));
  const sortedLag = Float64Array.from(all).sort();
  const sortedConnect = Float64Array.from(connectMs).sort();
  const summary = {
    label,
    count,
    rate,
    urls,
    deflate: opt.deflate,
    duration_s: (now() - started) / 1000,
    cpu_s: (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
    connected: conns.filter((c) => c.opened).length,
    close_codes: closeCodes,
    abnormal: conns.filter((c) => c.timedOut || c.code !== 1000).length,
    held_open: conns.filter((c) => c.heldOpen).length,
    timed_out: conns.filter((c) => c.timedOut).length,
    saw_end: conns.filter((c) => c.terminal).length,
    out_of_order: conns.reduce((a, c) => a + c.outOfOrder, 0),
    errors,
    reasons,
    events_total: eventsTotal,
    events_per_connection: conns.map((c) => c.events),
    connect_ms_values: connectMs.map((v) => Math.round(v * 100) / 100),
    connect_ms: {
      p50: pct(sortedConnect, 50), p99: pct(sortedConnect, 99),
      max: sortedConnect.length ? sortedConnect[sortedConnect.length - 1] : null,
    },
    lag_ms: {
      count: sortedLag.length, p50: pct(sortedLag, 50), p99: pct(sortedLag, 99),
      max: sortedLag.length ? sortedLag[sortedLag.length - 1] : null,
    },
    lags_file: opt.lags ?? null,
  };
  process.stdout.write(JSON.stringify(summary) + "\n", () => process.exit(0));
}

// Open connections to keep up with rate x elapsed time; a 5 ms tick smooths bursts.
const joinTimer = setInterval(() => {
  const due = Math.min(count, Math.floor(((now() - started) / 1000) * rate) + 1);
  while (opened < due) openOne(opened);
  if (opened === count) clearInterval(joinTimer);
}, 5);

const progressTimer = setInterval(() => {
  const t = ((now() - started) / 1000).toFixed(1);
  console.error(
    `[${label}] ${t}s joined ${opened}/${count} open ${open} closed ${finished} ` +
      `events ${eventsTotal} live-lags ${lags.total}`,
  );
}, Number(opt.progress) * 1000);

function expire(why) {
  if (done) return;
  console.error(`[${label}] ${why}: closing the remaining connections`);
  clearInterval(joinTimer);
  for (const c of conns) {
    if (!c.closed) {
      c.timedOut = true;
      finish(c, null, "timeout");
      c.ws.terminate();
    }
  }
  // connections never started count as timed out too
  while (opened < count) {
    const i = opened++;
    conns.push({ i, opened: false, closed: true, code: null, events: 0, outOfOrder: 0,
      timedOut: true, terminal: false, heldOpen: false, error: null, reason: "" });
    finished++;
  }
  report();
}

const deadline = setTimeout(() => expire(`timeout after ${opt.timeout}s`), timeoutMs);
process.on("SIGTERM", () => expire("stopped"));
process.on("SIGINT", () => expire("interrupted"));
