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
