/** runLoad(options): one load run in the chosen mode. */
import { runHttpLoad } from "./http-load.ts";
import type { LoadOptions } from "./options.ts";
import type { LoadResult } from "./result.ts";
import { runUdpLoad } from "./udp-load.ts";

export function runLoad(options: LoadOptions): Promise<LoadResult> {
  return options.mode === "udp" ? runUdpLoad(options) : runHttpLoad(options);
}
