/**
 * Option values for the bench scripts' command lines (compare, memory, churn): numbers may be
 * written with "_" between thousands (760_000), as in TOML and the tracker's own flags.
 */

/** `text` as a number ("_" allowed between digits); NaN when it is none. */
export function numberArg(text: string): number {
  return text.trim() === "" ? NaN : Number(text.replaceAll("_", ""));
}

/** `text` as an integer in [min, max]; otherwise `fail` is called with what is wrong. */
export function intArg(name: string, text: string, min: number, max: number, fail: (message: string) => never): number {
  const n = numberArg(text);
  if (!Number.isInteger(n) || n < min || n > max) fail(`${name} must be an integer in [${min}, ${max}]`);
  return n;
}

/**
 * A bench script's options: `--name N` integers within their ranges (and `--name text` for the
 * ones in `strings`). Exits 2 with `usage` on a mistake. Returns the values, defaults filled in.
 */
export function parseOptions<I extends string, S extends string = never>(
  argv: string[],
  usage: string,
  ints: Record<I, [dflt: number, min: number, max: number]>,
  strings: Record<S, string | null> = {} as Record<S, string | null>,
): Record<I, number> & Record<S, string | null> {
  const fail = (message: string): never => {
    console.error(`error: ${message}\n${usage}`);
    process.exit(2);
  };
  const out: Record<string, number | string | null> = {};
  for (const [name, [d]] of Object.entries(ints) as [string, [number, number, number]][]) out[name] = d;
  for (const [name, d] of Object.entries(strings) as [string, string | null][]) out[name] = d;
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i]!;
    const name = flag.replace(/^--/, "");
    const value = argv[i + 1] ?? fail(`${flag} needs a value`);
    if (name in ints) {
      const [, min, max] = (ints as Record<string, [number, number, number]>)[name]!;
      out[name] = intArg(flag, value, min, max, fail);
    } else if (name in strings) out[name] = value;
    else fail(`unknown option ${flag}`);
  }
  return out as Record<I, number> & Record<S, string | null>;
}
