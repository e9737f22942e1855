/**
 * /dashboard in a real browser: Debian's Chromium (/usr/bin/chromium), driven by playwright-core
 * (which downloads nothing), against a real tracker process (`bun run src/main.ts`).
 *
 * Checks that the page loads with no console error and nothing fetched from elsewhere, that the
 * uPlot charts draw, that the numbers change after HTTP announces, that the largest swarms are
 * listed by 40-hex info_hash; writes a screenshot (desktop, dark mode) after a few seconds of
 * traffic, to a temporary file, or to docs/dashboard.png (the README's) with
 * UPDATE_SCREENSHOT=1; and that every dashboard path is 403 for an address --stats-allow does
 * not list.
 *
 * Without Chromium the test FAILS (never skips): `apt-get install chromium` (.ci/run does).
 * Chromium runs headless with a fresh profile and its background networking off: on this
 * machine's closed network its own connections would be refused, and nothing may reach out.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { killChildren, startTrackerProcess } from "./support/child.ts";
import { announceUrl, bytes20, getBencoded } from "./support/tracker.ts";

/** Functions given to page.evaluate run in the page; this file is type-checked without the DOM. */
declare const document: any;

const ROOT = join(import.meta.dir, "..");
const CHROMIUM = "/usr/bin/chromium";
/** The README's picture is rewritten only on request: an ordinary run leaves the tree clean. */
const SCREENSHOT = process.env.UPDATE_SCREENSHOT === "1"
  ? join(ROOT, "docs", "dashboard.png")
  : join(mkdtempSync(join(tmpdir(), "sc6-dashboard-")), "dashboard.png");
const CHROMIUM_ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

afterEach(killChildren);

function requireChromium(): void {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is missing (${CHROMIUM}): apt-get install chromium. This test fails rather than skips without it.`);
  }
}

/** Chromium with a fresh profile; close() also removes the profile. */
async function launch(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), "sc6-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 900 },
    colorScheme: "dark",
    timeout: 20_000,
  });
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Text of the first element marked data-k="key". */
async function figure(page: Page, key: string): Promise<string> {
  return (await page.locator(`[data-k="${key}"]`).first().textContent({ timeout: 2000 })) ?? "";
}

/** Wait (bounded) until the element data-k="key" shows `text`. */
async function waitForFigure(page: Page, key: string, text: string, ms = 10_000): Promise<void> {
  await page.waitForFunction(
    ([k, t]) => document.querySelector(`[data-k="${k}"]`)?.textContent === t,
    [key, text] as const,
    { timeout: ms },
  );
}

describe("/dashboard in Chromium", () => {
  test("loads without console errors, draws its charts, follows announces, writes docs/dashboard.png", async () => {
    requireChromium();
    const { port } = await startTrackerProcess();
    const base = `http://127.0.0.1:${port}`;
    const browser = await launch();
    try {
      const page = await browser.context.newPage();
      const problems: string[] = [];
      page.on("console", (m) => {
        if (m.type() === "error") problems.push(`console: ${m.text()}`);
      });
      page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
      page.on("request", (r) => {
        if (!r.url().startsWith(`${base}/`) && !r.url().startsWith("data:")) problems.push(`request elsewhere: ${r.url()}`);
      });
      page.on("requestfailed", (r) => {
        // The event stream is cut when the page closes; anything else failing is a problem.
        if (!r.url().endsWith("/dashboard/events")) problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
      });

      const res = await page.goto(`${base}/dashboard`, { timeout: 15_000 });
      expect(res?.status()).toBe(200);
      await page.waitForFunction(() => document.getElementById("status")?.dataset.state === "live", null, { timeout: 10_000 });
      expect(await figure(page, "peers")).toBe("0");
      expect(await figure(page, "torrents")).toBe("0");

      // Six charts, each a uPlot canvas of some size with something drawn on it (axes at least).
      await page.waitForFunction(() => document.querySelectorAll(".uplot canvas").length === 6, null, { timeout: 5000 });
      const canvases = await page.evaluate(() =>
        [...document.querySelectorAll(".uplot canvas")].map((c: any) => {
          const px = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
          let drawn = 0;
          for (let i = 3; i < px.length; i += 4) if (px[i] !== 0) drawn++;
          return { width: c.width, height: c.height, drawn };
        }));
      for (const c of canvases) {
        expect(c.width).toBeGreaterThan(100);
        expect(c.height).toBeGreaterThan(100);
        expect(c.drawn).toBeGreaterThan(0);
      }

      // Two torrents, three peers each (one seeder each), over HTTP.
      const hashes = [bytes20(0x51, 1), bytes20(0x52, 2)];
      for (const [t, infoHash] of hashes.entries()) {
        for (let p = 0; p < 3; p++) {
          const answer = await getBencoded(announceUrl(base, { infoHash, port: 20000 + t * 10 + p, left: p === 0 ? "0" : "100" }));
          expect(answer["failure reason"]).toBeUndefined();
        }
      }
      await waitForFigure(page, "peers", "6");
      await waitForFigure(page, "torrents", "2");
      // Seeders and leechers: as the store's sweep counted them (a cycle a second at this size).
      await waitForFigure(page, "seeders", "2");
      await waitForFigure(page, "leechers", "4");
      // The largest swarms, by 40-hex info_hash (the sweep's list, read by the next live message).
      const hex = hashes.map((h) => Buffer.from(h).toString("hex"));
      await page.waitForFunction(
        (want) => want.every((h) => [...document.querySelectorAll("#top td.hash")].some((td: any) => td.textContent === h)),
        hex,
        { timeout: 10_000 },
      );

      // Varied traffic for the screenshot's charts (two 5 s samples and the moving last point),
      // with bad requests for the errors chart and oversized scrapes for the refusals; the
      // picture is taken while it still flows.
      const tooManyHashes = `${base}/scrape?${Array.from({ length: 80 }, (_, i) => `info_hash=${"%70".repeat(19)}%${(i + 16).toString(16)}`).join("&")}`;
      let flowing = true;
      const traffic = (async () => {
        for (let round = 0; flowing; round++) {
          const n = 4 + (round % 7) * 3;
          const sends: Promise<unknown>[] = [];
          for (let k = 0; k < n; k++) {
            const t = k % 5;
            sends.push(fetch(announceUrl(base, { infoHash: bytes20(0x60 + t, t), port: 30000 + ((round * 13 + k) % (20 + t * 15)), left: k % 3 === 0 ? "0" : "100" })).then((r) => r.arrayBuffer()));
          }
          if (round % 3 === 0) sends.push(fetch(`${base}/scrape?info_hash=${"%60".repeat(20)}`).then((r) => r.arrayBuffer()));
          if (round % 8 === 0) sends.push(fetch(`${base}/announce?info_hash=short`).then((r) => r.arrayBuffer()));
          if (round % 6 === 0) sends.push(fetch(tooManyHashes).then((r) => r.arrayBuffer())); // refused: scrape_hashes
          await Promise.all(sends);
          await Bun.sleep(150);
        }
      })();
      try {
        await Bun.sleep(11_500);
        await page.waitForFunction(() => Number(document.querySelector('[data-k="peers"]')?.textContent?.replace(/,/g, "")) > 6, null, { timeout: 5000 });
        await page.screenshot({ path: SCREENSHOT, fullPage: true, timeout: 10_000 });
      } finally {
        flowing = false;
        await traffic;
      }
      expect(statSync(SCREENSHOT).size).toBeGreaterThan(10_000); // a real picture, not an empty page

      expect(problems).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 90_000);

  test("an address --stats-allow does not list gets 403 for the page, the stream and any file", async () => {
    const { port } = await startTrackerProcess(["--stats-allow", "10.9.8.7"]);
    const base = `http://127.0.0.1:${port}`;
    for (const path of ["/dashboard", "/dashboard/", "/dashboard/events", "/dashboard/chunk-00000000.js", "/dashboard/x.css", "/stats"]) {
      const r = await fetch(base + path, { signal: AbortSignal.timeout(5000) });
      expect(r.status).toBe(403);
      const body = await r.text();
      expect(body).toContain("forbidden");
      expect(body).not.toContain("<html");
      expect(r.headers.get("content-type")).not.toContain("event-stream");
    }
    const head = await fetch(`${base}/dashboard`, { method: "HEAD", signal: AbortSignal.timeout(5000) });
    expect(head.status).toBe(403);
  }, 30_000);
});
