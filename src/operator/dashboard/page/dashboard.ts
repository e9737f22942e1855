/**
 * The dashboard page's script (bundled by Bun with uPlot; see ../assets.ts): one EventSource on
 * /dashboard/events; `history` and `sample` feed the charts (charts.ts), `live` the numbers,
 * the tables and the charts' moving last point. EventSource reconnects by itself; the status
 * dot says whether figures are arriving. Text goes in through textContent only.
 */
import { EVENT_HISTORY, EVENT_LIVE, EVENT_SAMPLE, type HistoryMessage, type LiveMessage, type ReasonFigure, type SampleMessage } from "../wire.ts";
import { Charts } from "./charts.ts";
import * as fmt from "./format.ts";

/** No live message for this long: the figures shown are stale. */
const STALE_MS = 5000;

const charts = new Charts(document);
const statusEl = document.getElementById("status")!;
let lastLive = 0;

function setStatus(state: "connecting" | "live" | "stale" | "down", text: string): void {
  statusEl.dataset.state = state;
  statusEl.textContent = text;
}

/** Every element marked data-k="key" shows `text`. */
function set(key: string, text: string): void {
  for (const el of document.querySelectorAll(`[data-k="${key}"]`)) el.textContent = text;
}

function cell(tr: HTMLTableRowElement, text: string, className?: string): void {
  const td = tr.insertCell();
  td.textContent = text;
  if (className !== undefined) td.className = className;
}

/** Replace a table body's rows; one row with `empty` when there are none. */
function fillRows<T>(id: string, items: T[], columns: number, empty: string, row: (tr: HTMLTableRowElement, item: T) => void): void {
  const body = document.getElementById(id) as HTMLTableSectionElement | null;
  if (body === null) return;
  body.replaceChildren();
  if (items.length === 0) {
    const tr = body.insertRow();
    tr.className = "zero";
    const td = tr.insertCell();
    td.colSpan = columns;
    td.textContent = empty;
    return;
  }
  for (const item of items) row(body.insertRow(), item);
}

/** Reasons seen since the start, most frequent first. */
function reasons(id: string, list: ReasonFigure[], empty: string): void {
  const seen = list.filter((r) => r.total > 0).sort((a, b) => b.total - a.total);
  fillRows(id, seen, 3, empty, (tr, r) => {
    if (r.perSecond === 0) tr.className = "zero";
    cell(tr, r.label);
    cell(tr, fmt.rate(r.perSecond));
    cell(tr, fmt.count(r.total));
  });
}

/** A <dl> of name/value pairs; a value may carry a class (up/down). */
function fillList(id: string, pairs: [string, string, string?][]): void {
  const dl = document.getElementById(id);
  if (dl === null) return;
  dl.replaceChildren();
  for (const [name, value, className] of pairs) {
    const dt = document.createElement("dt");
    dt.textContent = name;
    const dd = document.createElement("dd");
    dd.textContent = value;
    if (className !== undefined) dd.className = className;
    dl.append(dt, dd);
  }
}

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

function render(m: LiveMessage): void {
  set("uptime", fmt.uptime(m.uptimeSeconds));
  set("interval", `${m.intervalSeconds} s`);
  set("load", m.loadAverage.map((x) => x.toFixed(2)).join(" "));
  const [ah, au, aw] = m.announces.perSecond;
  set("announces", fmt.rate(ah + au + aw));
  set("announces-http", fmt.rate(ah));
  set("announces-udp", m.protocols.udp ? fmt.rate(au) : "off");
  set("announces-ws", m.protocols.ws ? fmt.rate(aw) : "off");
  const [sh, su, sw] = m.scrapes.perSecond;
  set("scrapes", fmt.rate(sh + su + sw));
  set("scrapes-http", fmt.rate(sh));
  set("scrapes-udp", m.protocols.udp ? fmt.rate(su) : "off");
  set("scrapes-ws", m.protocols.ws ? fmt.rate(sw) : "off");
  set("peers", fmt.count(m.swarm.peers));
  set("seeders", fmt.count(m.swarm.seeders));
  set("leechers", fmt.count(m.swarm.leechers));
  set("torrents", fmt.count(m.swarm.torrents));
  set("max-torrents", fmt.count(m.swarm.maxTorrents));
  set("max-peers", fmt.count(m.swarm.maxPeers));
  set("refusals", fmt.rate(sum(m.refusals.map((r) => r.perSecond))));
  set("errors", fmt.rate(sum(m.errors.map((r) => r.perSecond))));
  set("rss", fmt.bytes(m.rss));
  set("stall", fmt.millis(m.loopStall.lastMinuteMs));
  set("stall-ever", fmt.millis(m.loopStall.sinceStartMs));
  set("ring", `${fmt.count(m.ring.samples)} of ${fmt.count(m.ring.capacity)} samples, ${fmt.bytes(m.ring.bytes)}`);

  fillRows("top", m.top.torrents, 4, m.top.kept ? "no swarm yet" : "not kept by this store", (tr, t) => {
    cell(tr, t.infoHash, "hash");
    cell(tr, fmt.count(t.seeders));
    cell(tr, fmt.count(t.leechers));
    cell(tr, fmt.count(t.downloaded));
  });
  set("top-note", m.top.note);
  reasons("refusals", m.refusals, "none since the start");
  reasons("errors", m.errors, "none since the start");

  const st = m.store;
  fillList("store", st.kind === "memory"
    ? [["kind", "memory (this process)"], ["status", "up", "up"]]
    : [
      ["kind", st.kind],
      ["where", st.where],
      ["status", st.up ? "up" : "DOWN", st.up ? "up" : "down"],
      ["round trip", fmt.millis(st.rttMs)],
      ["refused while unreachable", fmt.count(st.unavailable)],
      ["disconnects", fmt.count(st.disconnects)],
    ]);
  const statePanel = document.getElementById("state-panel");
  if (statePanel !== null) statePanel.hidden = m.state === null;
  if (m.state !== null) {
    const s = m.state;
    fillList("state", [
      ["file", s.path],
      ["last saved", s.lastSavedAt ?? "not yet"],
      ...(s.lastSaveMillis === null ? [] : [
        ["took", fmt.millis(s.lastSaveMillis)] as [string, string],
        ["size", fmt.bytes(s.lastSaveBytes)] as [string, string],
      ]),
      ["result", s.lastSaveResult ?? "–", s.lastSaveResult === null || s.lastSaveResult === "ok" ? undefined : "down"],
      ["at start", s.restore === "restored" ? `restored ${fmt.count(s.restoredTorrents)} torrents, ${fmt.count(s.restoredPeers)} peers` : s.restore],
    ]);
  }
}

function data<T>(e: Event): T {
  return JSON.parse((e as MessageEvent<string>).data) as T;
}

const source = new EventSource("/dashboard/events");
source.addEventListener(EVENT_HISTORY, (e) => charts.setHistory(data<HistoryMessage>(e)));
source.addEventListener(EVENT_SAMPLE, (e) => charts.addSample(data<SampleMessage>(e)));
source.addEventListener(EVENT_LIVE, (e) => {
  const m = data<LiveMessage>(e);
  lastLive = Date.now();
  setStatus("live", "live");
  render(m);
  charts.setNow(m.now / 1000, m.row);
});
source.addEventListener("error", () => {
  // EventSource retries by itself unless the server refused the stream (then CLOSED).
  if (source.readyState === EventSource.CLOSED) setStatus("down", "disconnected: reload the page");
  else setStatus("connecting", "reconnecting");
});
setInterval(() => {
  if (lastLive !== 0 && Date.now() - lastLive > STALE_MS && statusEl.dataset.state === "live") setStatus("stale", "stale");
}, 1000);
