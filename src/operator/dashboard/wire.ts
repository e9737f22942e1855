/**
 * What travels on /dashboard/events, shared by the tracker (sampler.ts, history.ts) and the page
 * (page/dashboard.ts, bundled for the browser and type-checked with the DOM's types by
 * page/tsconfig.json: so this file imports nothing; the shapes it repeats from the server, the
 * store's health and the state file's status, are checked against theirs where the sampler
 * fills them in).
 *
 * The stream (server-sent events, one JSON object per `data:` line):
 *   event `history`  once, first: the ring of samples (HistoryMessage), oldest first
 *   event `live`     every second: the figures now (LiveMessage)
 *   event `sample`   every SAMPLE_SECONDS: the ring's newest sample (SampleMessage)
 */
/** The ring takes a sample this often (seconds)... */
export const SAMPLE_SECONDS = 5;
/** ...and keeps this many: one hour. */
export const HISTORY_SAMPLES = 720;

/**
 * The charted series, in ring-column order. Rates are per second, averaged over the sample's
 * SAMPLE_SECONDS; the rest are values at the sample's time.
 */
export const SERIES = [
  "announcesHttp", "announcesUdp", "announcesWs",
  "scrapesHttp", "scrapesUdp", "scrapesWs",
  /** Peers now; seeders and leechers as the store's last sweep cycle counted them (null: unknown). */
  "peers", "seeders", "leechers", "torrents",
  /** Refusals per second (every reason), and error answers per second (see sampler.ts ERRORS). */
  "refusals", "errors",
  /** Resident memory (MiB), the longest loop stall within the sample (ms). */
  "rssMiB", "stallMs",
  /** 1-minute load average, the announce interval (s). */
  "load1", "interval",
] as const;
export type SeriesName = (typeof SERIES)[number];

export const EVENT_HISTORY = "history";
export const EVENT_LIVE = "live";
export const EVENT_SAMPLE = "sample";

/** Event `history`: the ring as columns; `values[k]` is SERIES[k]; null where unknown. */
export interface HistoryMessage {
  sampleSeconds: number;
  capacity: number;
  /** Sample times, Unix seconds. */
  t: number[];
  values: (number | null)[][];
}

/** Event `sample`: one new row; `values[k]` is SERIES[k]. */
export interface SampleMessage {
  t: number;
  values: (number | null)[];
}

/** The swarm store and how it is doing: StoreHealth (src/store/store.ts). */
export interface StoreWire {
  kind: "memory" | "redis";
  where: string;
  up: boolean;
  rttMs: number;
  unavailable: number;
  disconnects: number;
}

/** The state file: StateStatus (src/operator/state-keeper.ts). */
export interface StateWire {
  path: string;
  lastSavedAt: string | null;
  lastSaveMillis: number | null;
  lastSaveBytes: number | null;
  lastSaveResult: string | null;
  restore: string;
  restoredTorrents: number;
  restoredPeers: number;
}

/** One of the largest swarms: TopTorrent (src/store/store.ts). */
export interface TopTorrentWire {
  /** 40 lowercase hex characters. */
  infoHash: string;
  seeders: number;
  leechers: number;
  downloaded: number;
}

/** HTTP, UDP, WebSocket. */
export type PerProtocol = [http: number, udp: number, ws: number];

/** A refusal or error reason: its rate over the last second and its total since the start. */
export interface ReasonFigure {
  key: string;
  label: string;
  perSecond: number;
  total: number;
}

/** Event `live`: the figures now. Rates are over the last second. */
export interface LiveMessage {
  /** Unix milliseconds when taken. */
  now: number;
  startTime: string;
  uptimeSeconds: number;
  /** Which listeners run. */
  protocols: { http: boolean; udp: boolean; ws: boolean };
  announces: { perSecond: PerProtocol; total: PerProtocol };
  scrapes: { perSecond: PerProtocol; total: PerProtocol };
  swarm: {
    peers: number;
    torrents: number;
    /** As the last sweep cycle counted them; null where the store does not say (Redis). */
    seeders: number | null;
    leechers: number | null;
    maxPeers: number;
    maxTorrents: number;
  };
  refusals: ReasonFigure[];
  errors: ReasonFigure[];
  intervalSeconds: number;
  loadAverage: [number, number, number];
  /** Resident memory, bytes. */
  rss: number;
  loopStall: { lastMinuteMs: number; sinceStartMs: number };
  store: StoreWire;
  /** The state file; null when --state-file is off. */
  state: StateWire | null;
  /** The largest swarms; `kept` false (with `note`) when the store keeps no such list. */
  top: { kept: boolean; note: string; torrents: TopTorrentWire[] };
  /** The history ring: samples held, capacity, bytes of its typed arrays. */
  ring: { samples: number; capacity: number; bytes: number };
  /** The charted series now (SERIES order, rates over the last second): the charts' last point. */
  row: (number | null)[];
}
