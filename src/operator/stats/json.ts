/**
 * /stats?format=json: the snapshot itself, as the documented JSON API (the field names are
 * StatsSnapshot's, see collect.ts), indented two spaces, with a final newline.
 */
import type { StatsSnapshot } from "./collect.ts";

export const STATS_JSON_CONTENT_TYPE = "application/json";

export function renderStatsJson(s: StatsSnapshot): string {
  return JSON.stringify(s, null, 2) + "\n";
}
