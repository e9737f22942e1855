/**
 * The dashboard page's files (the HTML and the JS/CSS it loads, uPlot included), held in memory
 * so the guarded route can answer them itself.
 *
 * Why not hand the HTML import to Bun.serve's `routes` as Bun's docs do: a static HTMLBundle
 * route is answered by Bun before any handler runs, so it could not be guarded by
 * --stats-allow, and a route handler cannot return an HTMLBundle (Bun 1.4.5; server.fetch()
 * does not reach such a route either). What the import gives instead (checked here):
 * - in a binary from `bun build --compile` (and any ahead-of-time build), `bundle.files` lists
 *   the bundled files, embedded in the binary and readable with Bun.file(path);
 * - under `bun run`/`bun test` there is no `files`, only `bundle.index`, the HTML's source
 *   path: Bun.build bundles it then, once, on the first request (15-25 ms, of which it held the
 *   event loop 1-11 ms, measured here).
 * Either way the files end up here, served under BASE with the HTML's references rewritten to
 * it, and nothing of the dashboard is answered outside the guard.
 */
import type { HTMLBundle } from "bun";

/** One file as served. */
export interface PageFile {
  body: Uint8Array;
  contentType: string;
}

export interface PageFiles {
  /** The HTML page. */
  page: PageFile;
  /** The JS and CSS it loads, by file name (hashed by the bundler, e.g. "chunk-4h7gkcja.js"). */
  assets: Map<string, PageFile>;
}

/** The HTML's script and stylesheet references point under this path. */
export const ASSET_BASE = "/dashboard/";

const HTML = "text/html;charset=utf-8";

/** The page's files from the HTML import: embedded ones when built ahead of time, else bundled now. */
export async function loadPageFiles(bundle: HTMLBundle): Promise<PageFiles> {
  const raw = bundle.files !== undefined && bundle.files.length > 0 ? await embeddedFiles(bundle) : await bundleNow(bundle.index);
  const html = raw.filter((f) => f.isHtml);
  if (html.length !== 1) throw new Error(`expected one HTML file in the dashboard bundle, found ${html.length}`);
  const assets = new Map<string, PageFile>();
  for (const f of raw) if (!f.isHtml) assets.set(f.name, { body: f.body, contentType: f.contentType });
  const text = rewriteReferences(new TextDecoder().decode(html[0]!.body), [...assets.keys()], ASSET_BASE);
  return { page: { body: new TextEncoder().encode(text), contentType: HTML }, assets };
}

interface RawFile {
  name: string;
  isHtml: boolean;
  body: Uint8Array;
  contentType: string;
}

/** A compiled binary: the files Bun embedded, at /$bunfs/... paths. */
async function embeddedFiles(bundle: HTMLBundle): Promise<RawFile[]> {
  return Promise.all(bundle.files!.map(async (f) => ({
    name: baseName(f.path),
    isHtml: f.loader === "html",
    body: await Bun.file(f.path).bytes(),
    contentType: f.headers["content-type"],
  })));
}

/** `bun run`: bundle the HTML's scripts and stylesheets now, in memory, minified. */
async function bundleNow(index: string): Promise<RawFile[]> {
  const built = await Bun.build({ entrypoints: [index], target: "browser", minify: true });
  if (!built.success) throw new Error(`bundling ${index} failed: ${built.logs.map(String).join("; ")}`);
  return Promise.all(built.outputs.map(async (o) => ({
    name: baseName(o.path),
    isHtml: o.type.startsWith("text/html"),
    body: new Uint8Array(await o.arrayBuffer()), // (a BuildArtifact has no bytes() in Bun 1.4.5)
    contentType: o.type,
  })));
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/**
 * Point the HTML's src/href values that name one of `names` (as "./x", "/x" or "any/path/x")
 * at base + name. Names are the bundler's hashed file names, so they match nothing else.
 */
export function rewriteReferences(html: string, names: readonly string[], base: string): string {
  for (const name of names) {
    const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    html = html.replace(new RegExp(`="(?:[^"]*/)?${escaped}"`, "g"), `="${base}${name}"`);
  }
  return html;
}
