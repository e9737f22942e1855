/**
 * The command line the Redis benchmarks (compare.ts, large-swarm.ts) share: --json, --help/-h,
 * --rounds, --seconds, --warmup, --mode, --connections, --window; each script declares only its
 * own options (and the ranges of --connections and --window).
 */
import type { LoadMode } from "../load/options.ts";

/** The options every Redis benchmark has. */
export interface CommonOptions {
  rounds: number;
  seconds: number;
  warmup: number;
  mode: LoadMode;
  connections: number;
  window: number;
  json: boolean;
}

/** Prints `error: message` and the usage to stderr and exits 2. */
export function usageError(usage: string, message: string): never {
  console.error(`error: ${message}\n\n${usage}`);
  process.exit(2);
}

/** Checks one numeric value: `flag` must be an integer (or, integer false, a number) in [min, max]; `_` separators allowed. */
export type NumberCheck = (flag: string, text: string | undefined, min: number, max: number, integer?: boolean) => number;

export interface ArgsSpec<O extends CommonOptions> {
  usage: string;
  /** The defaults; filled in and returned. */
  defaults: O;
  /** Allowed [min, max] of --connections and of --window. */
  connections: readonly [number, number];
  window: readonly [number, number];
  /**
   * A script's own option: `value` is the argument after `flag`. Sets it on `o` and returns true,
   * or returns false if the flag is not one of its own.
   */
  own(flag: string, value: string | undefined, o: O, check: { num: NumberCheck; fail: (message: string) => never }): boolean;
}

export function parseBenchArgs<O extends CommonOptions>(argv: readonly string[], spec: ArgsSpec<O>): O {
  const o = spec.defaults;
  const fail: (message: string) => never = (message) => usageError(spec.usage, message);
  const num: NumberCheck = (flag, text, min, max, integer = true) => {
    const n = Number((text ?? "").replaceAll("_", ""));
    if (text === undefined || text === "" || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
      fail(`${flag} must be ${integer ? "an integer" : "a number"} in [${min}, ${max}]`);
    }
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    if (flag === "--json") { o.json = true; continue; }
    if (flag === "--help" || flag === "-h") { console.log(spec.usage); process.exit(0); }
    const value = argv[++i];
    switch (flag) {
      case "--rounds": o.rounds = num(flag, value, 1, 50); break;
      case "--seconds": o.seconds = num(flag, value, 1, 120, false); break;
      case "--warmup": o.warmup = num(flag, value, 0, 30, false); break;
      case "--connections": o.connections = num(flag, value, ...spec.connections); break;
      case "--window": o.window = num(flag, value, ...spec.window); break;
      case "--mode":
        if (value !== "http-keepalive" && value !== "http-close" && value !== "udp") fail("--mode must be http-keepalive, http-close or udp");
        o.mode = value;
        break;
      default:
        if (!spec.own(flag, value, o, { num, fail })) fail(`unknown option ${flag}`);
    }
  }
  return o;
}
