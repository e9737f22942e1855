/**
 * Passkeys for private mode: what one looks like, how a new one is made, and the in-memory table
 * the rules consult on every announce.
 *
 * A passkey is 32 characters of the URL-safe base64 alphabet (A-Z a-z 0-9 - _), so it can sit in
 * an announce path (`/<passkey>/announce`) or in BEP 41 URL data unescaped, and carries 192 random
 * bits. 64 symbols means each character takes exactly 6 bits of a random byte: no modulo bias.
 *
 * PasskeyTable lives here, not next to SQLite, so the hot path imports nothing but a Map: the
 * keys are read from the database by PasskeyWatcher (passkey-db.ts), which builds a new table
 * whenever the database changes, and the rules swap it in whole.
 */
export const PASSKEY_LENGTH = 32;

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const SHAPE = /^[A-Za-z0-9_-]{32}$/;

/**
 * A new random passkey (crypto.getRandomValues; the low 6 bits of each byte pick a character).
 * Never starting with '-': a command line would take such a key for an option (`keys revoke
 * -Ab...`). The first character is drawn again until it is not one (uniform over the other 63).
 */
export function generatePasskey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(PASSKEY_LENGTH));
  while (ALPHABET[bytes[0]! & 63] === "-") bytes[0] = crypto.getRandomValues(new Uint8Array(1))[0]!;
  let key = "";
  for (const b of bytes) key += ALPHABET[b & 63];
  return key;
}

/** Whether `s` is exactly 32 characters of the passkey alphabet (says nothing of whether it is known). */
export function isPasskeyShape(s: string): boolean {
  return SHAPE.test(s);
}

export type PasskeyCheck = "ok" | "unknown" | "expired";

/**
 * The keys allowed to announce, each with its expiry (unix seconds, Infinity for none). Revoked
 * keys are simply absent. Immutable: a change in the database makes a new table.
 */
export class PasskeyTable {
  /** `expiries`: key -> expiry as PasskeyDb.activeKeys() returns it. The map is kept, not copied. */
  constructor(private readonly expiries: ReadonlyMap<string, number> = new Map()) {}

  /** "ok" for a known key before its expiry, "expired" at or after it, "unknown" otherwise. */
  check(key: string, nowSeconds: number): PasskeyCheck {
    const expires = this.expiries.get(key);
    if (expires === undefined) return "unknown";
    return nowSeconds < expires ? "ok" : "expired";
  }

  get size(): number {
    return this.expiries.size;
  }
}
