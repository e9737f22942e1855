/**
 * How the page writes numbers: counts with thousands separators, rates with one decimal below
 * ten, bytes in binary units, durations as the /stats page does. Browser code (bundled with the
 * page), no DOM.
 */
const WHOLE = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const ONE = new Intl.NumberFormat("en-US", { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const DASH = "–";

/** 1234567 -> "1,234,567"; null -> "–". */
export function count(n: number | null | undefined): string {
  return n === null || n === undefined || !Number.isFinite(n) ? DASH : WHOLE.format(n);
}

/** A per-second rate: "0", "0.4", "12", "1,234". */
export function rate(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return DASH;
  if (n === 0) return "0";
  return Math.abs(n) < 10 ? ONE.format(n) : WHOLE.format(n);
}

/** Bytes in KiB / MiB / GiB. */
export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return DASH;
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let u = 0;
  while (Math.abs(n) >= 1024 && u < units.length - 1) {
    n /= 1024;
    u++;
  }
  return `${u === 0 || n >= 100 ? WHOLE.format(n) : ONE.format(n)} ${units[u]}`;
}

/** Milliseconds: "0.4 ms", "35 ms", "1.2 s". */
export function millis(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return DASH;
  if (n >= 1000) return `${ONE.format(n / 1000)} s`;
  return `${n < 10 ? ONE.format(n) : WHOLE.format(n)} ms`;
}

/** Seconds of uptime: "3 d 04:05:06" (as /stats writes it). */
export function uptime(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const two = (n: number) => String(n).padStart(2, "0");
  return `${Math.floor(s / 86400)} d ${two(Math.floor(s / 3600) % 24)}:${two(Math.floor(s / 60) % 60)}:${two(s % 60)}`;
}

/** Axis labels: 950, 1.2k, 3.4M, 1.1G (at most ~5 characters). */
export function short(n: number): string {
  const a = Math.abs(n);
  if (a >= 1e9) return `${trim(n / 1e9)}G`;
  if (a >= 1e6) return `${trim(n / 1e6)}M`;
  if (a >= 1e4) return `${trim(n / 1e3)}k`;
  return a >= 100 || Number.isInteger(n) ? WHOLE.format(n).replace(/,/g, "") : String(Math.round(n * 100) / 100);
}

function trim(n: number): string {
  return String(Math.round(n * 10) / 10);
}
