/**
 * The page's uPlot charts over the history ring: the `history` event fills them, each `sample`
 * appends a point (the oldest drops off past the ring's capacity), and each `live` event moves
 * a provisional last point, so the lines move every second between samples. Browser code.
 *
 * All charts share one time column and one array per series (uPlot only reads them). Colours
 * come from the page's --c-* CSS variables; a change of prefers-color-scheme rebuilds the
 * charts in the other palette, and each chart follows its box's width (ResizeObserver).
 */
import uPlot from "uplot";
import { type HistoryMessage, type SampleMessage, SERIES, type SeriesName } from "../wire.ts";
import { millis, rate, short } from "./format.ts";

interface Line {
  key: SeriesName;
  label: string;
  /** A --c-* CSS variable. */
  color: string;
  /** "r": the right-hand axis. */
  scale?: "r";
  /** The legend's value. */
  format: (v: number) => string;
}

interface ChartSpec {
  /** The figure's data-chart attribute. */
  id: string;
  lines: Line[];
  /** The right-hand axis' unit, when a line uses it. */
  right?: string;
}

const whole = (v: number) => short(Math.round(v));
const perSecond = (v: number) => `${rate(v)}/s`;

const SPECS: ChartSpec[] = [
  {
    id: "announces",
    lines: [
      { key: "announcesHttp", label: "HTTP", color: "--c-http", format: perSecond },
      { key: "announcesUdp", label: "UDP", color: "--c-udp", format: perSecond },
      { key: "announcesWs", label: "WebSocket", color: "--c-ws", format: perSecond },
    ],
  },
  {
    id: "scrapes",
    lines: [
      { key: "scrapesHttp", label: "HTTP", color: "--c-http", format: perSecond },
      { key: "scrapesUdp", label: "UDP", color: "--c-udp", format: perSecond },
      { key: "scrapesWs", label: "WebSocket", color: "--c-ws", format: perSecond },
    ],
  },
  {
    id: "swarm",
    lines: [
      { key: "peers", label: "peers", color: "--c-peers", format: whole },
      { key: "seeders", label: "seeders", color: "--c-seeders", format: whole },
      { key: "leechers", label: "leechers", color: "--c-leechers", format: whole },
      { key: "torrents", label: "torrents", color: "--c-torrents", format: whole, scale: "r" },
    ],
    right: "torrents",
  },
  {
    id: "trouble",
    lines: [
      { key: "refusals", label: "refusals", color: "--c-refusals", format: perSecond },
      { key: "errors", label: "errors", color: "--c-errors", format: perSecond },
    ],
  },
  {
    id: "process",
    lines: [
      { key: "rssMiB", label: "RSS MiB", color: "--c-rss", format: (v) => `${short(v)} MiB` },
      { key: "stallMs", label: "stall", color: "--c-stall", format: millis, scale: "r" },
    ],
    right: "ms",
  },
  {
    id: "load",
    lines: [
      { key: "load1", label: "load 1 min", color: "--c-load", format: (v) => v.toFixed(2) },
      { key: "interval", label: "interval s", color: "--c-interval", format: (v) => `${v} s`, scale: "r" },
    ],
    right: "s",
  },
];

const HEIGHT = 170;

export class Charts {
  /** Sample times (Unix seconds) and one array per SERIES entry, shared by the charts. */
  private t: number[] = [];
  private cols: (number | null)[][] = SERIES.map(() => []);
  /** Whether the last point is the provisional one from the live figures. */
  private provisional = false;
  private capacity = 720;
  private plots: { spec: ChartSpec; el: HTMLElement; plot: uPlot }[] = [];
  private readonly resize = new ResizeObserver(() => this.fit());

  constructor(private readonly doc: Document) {
    this.build();
    doc.defaultView?.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => this.build());
  }

  /** The whole ring (the first message of a stream, and again after each reconnect). */
  setHistory(h: HistoryMessage): void {
    this.capacity = h.capacity;
    this.t = h.t.slice();
    this.cols = SERIES.map((_, k) => (h.values[k] ?? []).slice());
    this.provisional = false;
    this.redraw();
  }

  /** A new ring sample: replaces the provisional point, drops the oldest past capacity. */
  addSample(s: SampleMessage): void {
    this.dropProvisional();
    this.t.push(s.t);
    this.cols.forEach((c, k) => c.push(s.values[k] ?? null));
    while (this.t.length > this.capacity) {
      this.t.shift();
      for (const c of this.cols) c.shift();
    }
    this.redraw();
  }

  /** The live figures at `t` (Unix seconds): the moving last point. */
  setNow(t: number, row: (number | null)[]): void {
    this.dropProvisional();
    if (this.t.length > 0 && t <= this.t[this.t.length - 1]!) return; // keep the x values ascending
    this.t.push(t);
    this.cols.forEach((c, k) => c.push(row[k] ?? null));
    this.provisional = true;
    this.redraw();
  }

  private dropProvisional(): void {
    if (!this.provisional) return;
    this.t.pop();
    for (const c of this.cols) c.pop();
    this.provisional = false;
  }

  private data(spec: ChartSpec): uPlot.AlignedData {
    return [this.t, ...spec.lines.map((l) => this.cols[SERIES.indexOf(l.key)]!)] as uPlot.AlignedData;
  }

  private redraw(): void {
    for (const p of this.plots) {
      p.plot.setData(this.data(p.spec));
      p.plot.setLegend({}); // the legend's values again: the latest ones unless the cursor is in
    }
  }

  /** Make every chart (again: a colour-scheme change), in the current palette. */
  private build(): void {
    for (const p of this.plots) p.plot.destroy();
    this.resize.disconnect();
    this.plots = [];
    const css = getComputedStyle(this.doc.documentElement);
    const color = (name: string) => css.getPropertyValue(name).trim() || "#888";
    const axis = color("--axis");
    const grid = { stroke: color("--grid"), width: 1 };
    for (const spec of SPECS) {
      const el = this.doc.querySelector<HTMLElement>(`[data-chart="${spec.id}"]`);
      if (el === null) continue;
      const axes: uPlot.Axis[] = [
        { stroke: axis, grid, ticks: grid },
        { stroke: axis, grid, ticks: grid, size: 48, values: (_u, splits) => splits.map(short) },
      ];
      if (spec.right !== undefined) {
        axes.push({ scale: "r", side: 1, stroke: axis, grid: { show: false }, ticks: grid, size: 48, values: (_u, splits) => splits.map(short) });
      }
      const opts: uPlot.Options = {
        width: this.widthOf(el),
        height: HEIGHT,
        scales: { x: { time: true, range: atLeast20Seconds }, y: { range: nonNegative }, r: { range: nonNegative } },
        axes,
        series: [
          { value: (_u, v, _s, idx) => (idx === null || v === null ? "latest" : new Date(v * 1000).toLocaleTimeString()) },
          ...spec.lines.map((l): uPlot.Series => ({
            label: l.label,
            stroke: color(l.color),
            width: 1.5,
            scale: l.scale ?? "y",
            points: { show: false },
            // With the cursor off the chart (idx null) the legend shows the latest value.
            value: (u, v, s, idx) => {
              const shown = idx === null ? latest(u.data[s]) : v;
              return shown === null || shown === undefined ? "–" : l.format(shown);
            },
          })),
        ],
        cursor: { drag: { x: false, y: false } },
      };
      this.plots.push({ spec, el, plot: new uPlot(opts, this.data(spec), el) });
      this.resize.observe(el);
    }
  }

  /** The chart's width: its box's content width. */
  private widthOf(el: HTMLElement): number {
    const cs = getComputedStyle(el);
    return Math.max(200, Math.floor(el.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight)));
  }

  private fit(): void {
    for (const p of this.plots) {
      const width = this.widthOf(p.el);
      if (width !== p.plot.width) p.plot.setSize({ width, height: HEIGHT });
    }
  }
}

/** The last value that is not null. */
function latest(column: ArrayLike<number | null | undefined> | undefined): number | null {
  if (column === undefined) return null;
  for (let i = column.length - 1; i >= 0; i--) {
    const v = column[i];
    if (v !== null && v !== undefined) return v;
  }
  return null;
}

/** The time axis spans at least 20 s (a fresh tracker has a point or two: no sub-second ticks). */
function atLeast20Seconds(_u: uPlot, min: number | null, max: number | null): uPlot.Range.MinMax {
  const hi = max ?? Date.now() / 1000;
  return [Math.min(min ?? hi, hi - 20), hi];
}

/** A y range from 0 (or below, if a value is) to a little above the largest value; 0..1 when flat. */
function nonNegative(_u: uPlot, min: number | null, max: number | null): uPlot.Range.MinMax {
  const lo = Math.min(0, min ?? 0);
  const hi = max === null || max <= lo ? lo + 1 : max * 1.1;
  return [lo, hi];
}
