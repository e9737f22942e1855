/**
 * Keeps the state file (src/store/state-file.ts) for the running tracker: restores it at start
 * (one line says what happened), writes it every `stateInterval` seconds and when asked
 * (SIGUSR1, stop), one write at a time, and keeps what /stats shows about it.
 */
import { MemoryStore } from "../store/memory/memory-store.ts";
import { restoreState, saveState } from "../store/state-file.ts";
import { nowSeconds, type TrackerRules } from "../rules/tracker-rules.ts";

/** What /stats shows about the state file. */
export interface StateStatus {
  path: string;
  /** The last write that finished: when (ISO), how long, how big; null before the first. */
  lastSavedAt: string | null;
  lastSaveMillis: number | null;
  lastSaveBytes: number | null;
  /** "ok", or why the last write failed. */
  lastSaveResult: string | null;
  /** What the start found: "missing", "restored", "corrupt: <why>". */
  restore: string;
  restoredTorrents: number;
  restoredPeers: number;
}

export interface StateKeeper {
  readonly status: StateStatus;
  /** Write the state now (waits for a write already under way, then writes again). */
  save(reason: string): Promise<void>;
  stop(): void;
}

/**
 * Restore `rules.store` from config.stateFile and keep it saved; null when the setting is off.
 * Call before the tracker listens: the restore reads the whole file at once. `log` gets what
 * happened (unless --quiet), `warn` what went wrong (always).
 */
export function startStateKeeper(rules: TrackerRules, log: (line: string) => void, warn: (line: string) => void): StateKeeper | null {
  const path = rules.config.stateFile;
  if (path === "") return null;
  const store = rules.store;
  if (!(store instanceof MemoryStore)) {
    warn(`state: --state-file applies to the in-memory store only; ${path} is not used`);
    return null;
  }
  const info = rules.config.quiet ? () => {} : log;
  const status: StateStatus = {
    path, lastSavedAt: null, lastSaveMillis: null, lastSaveBytes: null, lastSaveResult: null,
    restore: "missing", restoredTorrents: 0, restoredPeers: 0,
  };

  // False when a bad file could not be moved aside: it is evidence, so nothing is written over it.
  let writable = true;
  const outcome = restoreState(path, store, nowSeconds());
  switch (outcome.kind) {
    case "missing":
      info(`state: no state file at ${path} yet; starting empty`);
      break;
    case "corrupt":
      status.restore = `corrupt: ${outcome.reason}`;
      writable = outcome.movedTo !== null;
      warn(
        `state: ${path} is unusable (${outcome.reason}); ` +
          (writable ? `moved aside to ${outcome.movedTo}; starting empty` : "it cannot be moved aside, so it is kept and no state will be written until it is dealt with; starting empty"),
      );
      break;
    case "restored": {
      const r = outcome.report;
      const c = rules.config;
      rules.interval = Math.min(c.intervalMax, Math.max(c.intervalMin, outcome.interval));
      status.restore = "restored";
      status.restoredTorrents = r.torrents;
      status.restoredPeers = r.peers;
      info(
        `state: restored ${r.torrents} torrents and ${r.peers} peers from ${path} (saved ${new Date(outcome.savedAt * 1000).toISOString()}; ` +
          `${r.expired} peers expired meanwhile${r.refused > 0 ? `, ${r.refused} over the capacity limits left out` : ""}), interval ${rules.interval} s`,
      );
    }
  }

  let running: Promise<void> | null = null;
  async function write(reason: string): Promise<void> {
    if (!writable) {
      status.lastSaveResult = `not written: ${path} could not be read nor moved aside`;
      return;
    }
    try {
      const r = await saveState(path, store as MemoryStore, rules.interval, nowSeconds());
      status.lastSavedAt = new Date().toISOString();
      status.lastSaveMillis = Math.round(r.millis);
      status.lastSaveBytes = r.bytes;
      status.lastSaveResult = "ok";
    } catch (e) {
      status.lastSaveResult = (e as Error).message;
      warn(`state: cannot write ${path} (${reason}): ${(e as Error).message}`);
    }
  }
  function save(reason: string): Promise<void> {
    // One write at a time: a request while one runs waits for it, then writes afresh. (write
    // never rejects: a failure is reported and kept in the status.)
    const next = (running ?? Promise.resolve()).then(() => write(reason));
    running = next;
    void next.then(() => {
      if (running === next) running = null;
    });
    return next;
  }

  const seconds = rules.config.stateInterval;
  const timer = seconds > 0 ? setInterval(() => void save("interval"), seconds * 1000) : null;
  timer?.unref();
  return { status, save, stop: () => (timer ? clearInterval(timer) : undefined) };
}
