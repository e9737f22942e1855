/**
 * README.md's settings table, generated from the settings table (src/config/settings.ts).
 *
 *   npx bun run scripts/settings-doc.ts           print the Markdown table
 *   npx bun run scripts/settings-doc.ts --write   rewrite the table in README.md between the markers
 *
 * (also `npx bun run docs:settings [--write]`). test/settings-doc.test.ts fails when README.md's
 * table differs from the generated one.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { settingsTable } from "../src/config/docs.ts";

export const README = new URL("../README.md", import.meta.url).pathname;
export const START = "<!-- settings:start (generated from src/config/settings.ts: npx bun run docs:settings --write) -->";
export const END = "<!-- settings:end -->";

/** Where the table sits in `readme`: the text between the marker lines. */
function tableSpan(readme: string): { from: number; to: number } {
  const start = readme.indexOf(START + "\n");
  const end = readme.indexOf(END, start);
  if (start < 0 || end < 0) throw new Error(`README.md: the markers ${START} and ${END} are missing`);
  return { from: start + START.length + 1, to: end };
}

/** The table README.md holds now. */
export function tableInReadme(readme: string): string {
  const { from, to } = tableSpan(readme);
  return readme.slice(from, to);
}

/** `readme` with its table replaced by `table`. */
export function withTable(readme: string, table: string): string {
  const { from, to } = tableSpan(readme);
  return readme.slice(0, from) + table + readme.slice(to);
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  if (args.length === 0) {
    process.stdout.write(settingsTable());
  } else if (args.length === 1 && args[0] === "--write") {
    const before = readFileSync(README, "utf8");
    const after = withTable(before, settingsTable());
    if (after !== before) writeFileSync(README, after);
    console.log(after === before ? "README.md: settings table already up to date" : "README.md: settings table rewritten");
  } else {
    console.error("usage: bun run scripts/settings-doc.ts [--write]");
    process.exit(2);
  }
}
