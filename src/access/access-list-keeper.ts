/**
 * Keeps the access list (--access-list, --access-mode) in force for the running tracker: loads
 * it at start, reloads it on SIGHUP and when the file changes, and keeps what /stats shows.
 *
 * - Atomic: a new file is read and parsed whole (info-hash-list.ts) before it replaces the old
 *   list, and list and mode are handed to the rules in one call: a request sees the old list or
 *   the new one, never a mix.
 * - A file with a bad line (or one that cannot be read) is refused whole: one line names the
 *   file, the line number and its content, and the list in force stays.
 * - The file's directory is watched, not the file: editors and deploy tools replace a file by
 *   writing a new one and renaming it over the old, which ends a watch on the file itself.
 *   Events come in bursts (write, then rename), so a reload waits WATCH_SETTLE_MS for the
 *   burst to end.
 * - At start a bad or missing list is an error (the tracker does not start): serving every
 *   torrent because an allow list did not load would be the wrong way to fail.
 */
import { readFileSync, watch, type FSWatcher } from "node:fs";
import { basename, dirname } from "node:path";
import type { Config } from "../config/types.ts";
import { ACCESS_OFF, accessModeOf, type AccessMode } from "../rules/tracker-rules.ts";
import { type InfoHashListParse, InfoHashSet, parseInfoHashList, parseInfoHashListSliced } from "./info-hash-list.ts";

/** Quiet time after the last change event before the file is read. */
const WATCH_SETTLE_MS = 150;

/** What /stats shows about the access list. */
export interface AccessListStatus {
  mode: "allow" | "deny";
  path: string;
  /** Info hashes in the list in force. */
  entries: number;
  /** Bytes the list in force holds in memory. */
  bytes: number;
  /** When the list in force was loaded (ISO). */
  loadedAt: string;
  /** The last reload attempt (ISO), its result ("ok" or why it was refused) and its trigger. */
  lastReloadAt: string;
  lastReloadResult: string;
  lastReloadTrigger: string;
  reloadsOk: number;
  reloadsFailed: number;
}

export interface AccessListKeeper {
  /** Null while access-mode is off. */
  readonly status: AccessListStatus | null;
  /** Read the list again (SIGHUP: the configuration may have changed mode or path). */
  reload(trigger: string): void;
  stop(): void;
}

type Loaded = { ok: true; list: InfoHashSet } | { ok: false; message: string };

/** The list at `path`, parsed at once; or why it cannot be used, in one line naming file and line. */
export function loadAccessList(path: string): Loaded {
  const text = readList(path);
  return typeof text !== "string" ? text : loaded(path, parseInfoHashList(text));
}

/** loadAccessList without holding the event loop (parseInfoHashListSliced): for reloads. */
export async function loadAccessListSliced(path: string): Promise<Loaded> {
  const text = readList(path);
  return typeof text !== "string" ? text : loaded(path, await parseInfoHashListSliced(text));
}

function readList(path: string): string | { ok: false; message: string } {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    return { ok: false, message: `${path}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
  }
}

function loaded(path: string, parsed: InfoHashListParse): Loaded {
  if (!parsed.ok) return { ok: false, message: `${path}: line ${parsed.line}: ${parsed.reason}: "${parsed.content}"` };
  return { ok: true, list: parsed.set };
}

/**
 * Thrown at start when the access list or the passkey database cannot be loaded: the tracker
 * must not start without them (main.ts exits with code 2, as for a bad setting).
 */
export class AccessStartError extends Error {}

/**
 * Load the list the configuration names and keep it in force through `apply`. `config()` is
 * read at each reload (SIGHUP may have changed mode or path). `log` gets successful reloads,
 * `warn` refused ones. Rejects with AccessStartError when the list cannot be loaded at start.
 * Reloads parse in slices (parseInfoHashListSliced), so a large list does not hold the event
 * loop; requests meanwhile see the old list, then the new one whole.
 */
export async function startAccessListKeeper(
  config: () => Config,
  apply: (mode: AccessMode, list: InfoHashSet | null) => void,
  log: (line: string) => void,
  warn: (line: string) => void,
): Promise<AccessListKeeper> {
  let status: AccessListStatus | null = null;
  let watcher: FSWatcher | null = null;
  let watchedPath = "";
  let settle: Timer | null = null;

  function watchFile(path: string): void {
    if (path === watchedPath) return;
    unwatch();
    watchedPath = path;
    const name = basename(path);
    try {
      watcher = watch(dirname(path), { persistent: false }, (_event, file) => {
        if (file !== null && file !== name) return;
        if (settle !== null) clearTimeout(settle);
        settle = setTimeout(() => {
          settle = null;
          reload("file changed");
        }, WATCH_SETTLE_MS);
      });
      watcher.on("error", (e) => warn(`access list: stopped watching ${path}: ${e.message} (SIGHUP still reloads it)`));
    } catch (e) {
      warn(`access list: cannot watch ${path}: ${(e as Error).message} (SIGHUP still reloads it)`);
    }
  }

  function unwatch(): void {
    watcher?.close();
    watcher = null;
    watchedPath = "";
    if (settle !== null) clearTimeout(settle);
    settle = null;
  }

  /** A reload under way (later reloads wait for it, then run once more). */
  let running = false;
  let again: string | null = null;
  let stopped = false;

  /** Reload in the background (SIGHUP, file change): the list is parsed in slices. */
  function reload(trigger: string): void {
    if (running) {
      again = trigger;
      return;
    }
    running = true;
    void (async () => {
      try {
        for (let t: string | null = trigger; t !== null && !stopped; t = again) {
          again = null;
          await reloadNow(t, loadAccessListSliced);
        }
      } catch (e) {
        warn(`access list: reload failed: ${(e as Error).message}`);
      } finally {
        running = false;
      }
    })();
  }

  async function reloadNow(trigger: string, load: (path: string) => Loaded | Promise<Loaded>): Promise<void> {
    const c = config();
    const mode = accessModeOf(c.accessMode);
    if (mode === ACCESS_OFF) {
      if (status !== null) log(`access list: access-mode is off (${trigger}): every torrent is served`);
      apply(ACCESS_OFF, null);
      status = null;
      unwatch();
      return;
    }
    const path = c.accessList;
    const loaded = await load(path);
    if (stopped) return;
    const now = new Date().toISOString();
    const modeText = c.accessMode as "allow" | "deny";
    if (!loaded.ok) {
      if (status === null) {
        // Nothing in force to keep (start, or access-mode just turned on): refuse to go on.
        if (trigger === "start") throw new AccessStartError(`access list: ${loaded.message}`);
        warn(`access list: ${loaded.message}; not loaded (${trigger}), access-mode stays off`);
        return;
      }
      status.lastReloadAt = now;
      status.lastReloadResult = loaded.message;
      status.lastReloadTrigger = trigger;
      status.reloadsFailed++;
      warn(`access list: ${loaded.message}; refused whole (${trigger}), the ${status.entries.toLocaleString("en-US")} entries in force stay`);
      watchFile(path);
      return;
    }
    apply(mode, loaded.list);
    status = {
      mode: modeText,
      path,
      entries: loaded.list.size,
      bytes: loaded.list.bytes,
      loadedAt: now,
      lastReloadAt: now,
      lastReloadResult: "ok",
      lastReloadTrigger: trigger,
      reloadsOk: (status?.reloadsOk ?? 0) + 1,
      reloadsFailed: status?.reloadsFailed ?? 0,
    };
    log(`access list: ${loaded.list.size.toLocaleString("en-US")} info_hashes from ${path}, mode ${modeText} (${trigger})`);
    watchFile(path);
  }

  // At start, in one go: the tracker must not serve before the list is in force (nor at all
  // without it, hence the throw).
  await reloadNow("start", loadAccessList);
  return {
    get status() {
      return status;
    },
    reload,
    stop() {
      stopped = true;
      unwatch();
    },
  };
}
