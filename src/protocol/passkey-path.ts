/**
 * The passkey in a private tracker's URL path: `/<passkey>/announce`, `/<passkey>/scrape` (HTTP)
 * and the BEP 41 URL data of a UDP announce (`/<passkey>/announce`, perhaps with `?query`).
 * Pure: whether the key is in force is the rules' question.
 */

/** Longest key read from a path: anything longer is no key at all (keys are 32 characters). */
const MAX_KEY = 64;

/**
 * The key of `/<key>/<verb>` (verb without its slash; a `?query` after it is allowed), or null
 * when the path has another shape. The key is whatever lies between the slashes (1 to 64
 * characters, no `/`): an unknown one is refused by the rules with its own message.
 */
export function passkeyOf(path: string, verb: string): string | null {
  if (path.charCodeAt(0) !== 0x2f) return null;
  const slash = path.indexOf("/", 1);
  if (slash < 2 || slash > MAX_KEY + 1) return null;
  const end = slash + 1 + verb.length;
  if (!path.startsWith(verb, slash + 1) || (end !== path.length && path.charCodeAt(end) !== 0x3f)) return null;
  return path.slice(1, slash);
}
