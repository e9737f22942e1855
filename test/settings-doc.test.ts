import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { DEFAULT_CONFIG } from "../src/config/config.ts";
import { settingsTable } from "../src/config/docs.ts";
import { END, README, START, tableInReadme, withTable } from "../scripts/settings-doc.ts";

const snake = (k: string) => k.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase());

describe("README.md's settings table", () => {
  test("is the generated one (run `npx bun run docs:settings --write` after changing a setting)", () => {
    expect(tableInReadme(readFileSync(README, "utf8"))).toBe(settingsTable());
  });

  test("has one row per setting, with the positional notes", () => {
    const table = settingsTable();
    const rows = table.trimEnd().split("\n");
    expect(rows[0]).toBe("| Flag | Environment | TOML key | Default | Meaning |");
    expect(rows.length).toBe(2 + Object.keys(DEFAULT_CONFIG).length);
    for (const key of Object.keys(DEFAULT_CONFIG)) expect(table).toContain(`| \`${snake(key)}\` |`);
    expect(table).toContain("| `--port` (or 1st positional) | `TRACKER_PORT` | `port` | 6969 |");
    expect(table).toContain("| `--interval` (or 2nd positional) | `TRACKER_INTERVAL` | `interval` | 299 |");
    expect(table).toContain("| `--udp` / `--no-udp` |");
  });

  test("shows no machine-dependent value", () => {
    expect(settingsTable()).toContain("| CPUs available - 0.5 |");
    expect(settingsTable()).not.toContain("on this machine");
  });

  test("--write replaces only what lies between the markers", () => {
    const readme = `before\n${START}\n| old |\n${END}\nafter\n`;
    expect(withTable(readme, "| new |\n")).toBe(`before\n${START}\n| new |\n${END}\nafter\n`);
    expect(tableInReadme(withTable(readme, "| new |\n"))).toBe("| new |\n");
    expect(() => tableInReadme("no markers here")).toThrow(/markers/);
  });
});
