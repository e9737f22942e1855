/**
 * SIGHUP's reload: which settings of a freshly read configuration the running tracker takes.
 * The live ones (settings.ts, `live: true`) are applied; a change to any other is reported as
 * needing a restart and the running value stays, so the tracker never runs half-reconfigured.
 */
import { flagName, LIVE_KEYS, type Config, type Key } from "./settings.ts";

export interface Reload {
  /** The configuration to run with: the running one, with the changed live settings taken. */
  config: Config;
  /** Changed live settings (now applied), as flag names. */
  applied: string[];
  /** Changed settings that need a restart (not applied), as flag names. */
  needRestart: string[];
}

export function reloadConfig(running: Config, next: Config): Reload {
  const config = { ...running };
  const applied: string[] = [];
  const needRestart: string[] = [];
  for (const key of Object.keys(next) as Key[]) {
    if (JSON.stringify(running[key]) === JSON.stringify(next[key])) continue;
    if (LIVE_KEYS.includes(key)) {
      (config as Record<Key, unknown>)[key] = next[key];
      applied.push(`--${flagName(key)}`);
    } else needRestart.push(`--${flagName(key)}`);
  }
  return { config, applied, needRestart };
}
