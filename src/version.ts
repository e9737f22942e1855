/**
 * The tracker's version (package.json's, compiled into the single binary) and the Bun it runs
 * on: `--version`, the banner page and the start-up line.
 */
import pkg from "../package.json" with { type: "json" };

export const VERSION: string = pkg.version;

/** "sc6-tracker 0.1.0 (Bun 1.4.5)". */
export function versionLine(): string {
  return `sc6-tracker ${VERSION} (Bun ${Bun.version})`;
}
