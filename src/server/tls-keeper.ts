/**
 * The HTTPS listener's certificate pair, kept current without a restart.
 *
 * - At start the pair must load (tls-certs.ts checks it): otherwise TlsStartError, and main.ts
 *   exits 2 naming the file and the reason.
 * - Reloaded on SIGHUP (tracker.reload) and when either file changes. The files' directories are
 *   watched, not the files: certbot and ACME clients replace a certificate by renaming (certbot
 *   swaps the `live/` symlinks), which ends a watch on the file itself. Events come in bursts
 *   (key, then certificate), so a reload waits SETTLE_MS after the last one.
 * - A pair that does not load is reported in one line (file and reason) and the pair in force
 *   stays; a good one is handed to `onChange` (the listener starts serving it to new
 *   connections, see http-listener.ts relisten) and logged with its subject and expiry.
 */
import { watch, type FSWatcher } from "node:fs";
import { basename, dirname } from "node:path";
import { daysLeft, loadCertPair, type CertPair } from "./tls-certs.ts";
import { TlsStartError } from "./tls-start-error.ts";

const SETTLE_MS = 150;

/** The terminal line warns when the certificate in force has fewer days left than this. */
export const EXPIRY_WARNING_DAYS = 14;

/** The lines the terminal line adds about the certificate: one when it expires soon, else none. */
export function tlsExpiryWarnings(s: TlsStatus): string[] {
  if (!s.expiresSoon) return [];
  return [`TLS: WARNING: the certificate (${s.subject}, ${s.cert}) expires in ${Math.max(0, Math.floor(s.daysLeft))} days, on ${s.notAfter}: renew it (it is reloaded when the file changes or on SIGHUP)`];
}

export interface TlsStatus {
  cert: string;
  key: string;
  subject: string;
  /** The certificate in force: last valid moment (ISO 8601) and days left (fractional). */
  notAfter: string;
  daysLeft: number;
  /** Fewer than EXPIRY_WARNING_DAYS left: the pages and the terminal line say to renew it. */
  expiresSoon: boolean;
  lastReloadAt: string | null;
  lastReloadTrigger: string | null;
  /** "ok", or what was wrong with the pair that was refused (the old one stayed). */
  lastReloadResult: string | null;
  reloadsOk: number;
  reloadsFailed: number;
}

export class TlsKeeper {
  pair: CertPair;
  /** Called with each new pair put in force. */
  onChange: ((pair: CertPair) => void) | null = null;
  private readonly watchers: FSWatcher[] = [];
  private settle: ReturnType<typeof setTimeout> | null = null;
  private lastReloadAt: string | null = null;
  private lastReloadTrigger: string | null = null;
  private lastReloadResult: string | null = null;
  private reloadsOk = 0;
  private reloadsFailed = 0;

  constructor(
    private readonly certPath: string,
    private readonly keyPath: string,
    private readonly log: (line: string) => void,
    private readonly warn: (line: string) => void,
  ) {
    const r = loadCertPair(certPath, keyPath);
    if (!r.ok) throw new TlsStartError(`TLS: ${r.file}: ${r.reason}`);
    this.pair = r.pair;
    this.watchFiles();
  }

  private watchFiles(): void {
    const names = new Map<string, Set<string>>();
    for (const path of [this.certPath, this.keyPath]) {
      const dir = dirname(path);
      if (!names.has(dir)) names.set(dir, new Set());
      names.get(dir)!.add(basename(path));
    }
    for (const [dir, files] of names) {
      try {
        const w = watch(dir, (_event, name) => {
          if (name === null || files.has(String(name))) this.changed();
        });
        w.on("error", () => {}); // a directory that goes away: SIGHUP still reloads
        this.watchers.push(w);
      } catch (e) {
        this.warn(`TLS: cannot watch ${dir} (${(e as Error).message}): reload the certificate with SIGHUP`);
      }
    }
  }

  private changed(): void {
    if (this.settle !== null) clearTimeout(this.settle);
    this.settle = setTimeout(() => {
      this.settle = null;
      this.reload("file change");
    }, SETTLE_MS);
    this.settle.unref();
  }

  /** Read the pair again; put it in force if it loads. True when it did. */
  reload(trigger: string): boolean {
    this.lastReloadAt = new Date().toISOString();
    this.lastReloadTrigger = trigger;
    const r = loadCertPair(this.certPath, this.keyPath);
    if (!r.ok) {
      this.reloadsFailed++;
      this.lastReloadResult = `${r.file}: ${r.reason}`;
      this.warn(`TLS: ${trigger}: certificate not reloaded, the one in force stays: ${r.file}: ${r.reason}`);
      return false;
    }
    this.reloadsOk++;
    this.lastReloadResult = "ok";
    this.pair = r.pair;
    this.onChange?.(r.pair);
    this.log(`TLS: ${trigger}: serving ${r.pair.subject}, valid until ${r.pair.notAfter.toISOString()} (${Math.floor(daysLeft(r.pair.notAfter))} days)`);
    return true;
  }

  status(): TlsStatus {
    return {
      cert: this.certPath,
      key: this.keyPath,
      subject: this.pair.subject,
      notAfter: this.pair.notAfter.toISOString(),
      daysLeft: daysLeft(this.pair.notAfter),
      expiresSoon: daysLeft(this.pair.notAfter) < EXPIRY_WARNING_DAYS,
      lastReloadAt: this.lastReloadAt,
      lastReloadTrigger: this.lastReloadTrigger,
      lastReloadResult: this.lastReloadResult,
      reloadsOk: this.reloadsOk,
      reloadsFailed: this.reloadsFailed,
    };
  }

  stop(): void {
    if (this.settle !== null) clearTimeout(this.settle);
    for (const w of this.watchers) w.close();
    this.watchers.length = 0;
  }
}
