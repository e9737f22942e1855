/**
 * A TLS certificate and key pair, read and checked before it is put in force: both files
 * readable PEM, the key the certificate's own, the certificate valid now. A pair that fails is
 * described in one line naming the file and the reason, so an operator (or certbot's deploy
 * hook log) sees what to fix; the tracker keeps the pair it has.
 *
 * The certificate file may hold a chain (leaf first, then intermediates), as certbot's
 * fullchain.pem does: Bun.serve sends it whole; the checks read the leaf.
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";

export interface CertPair {
  cert: string;
  key: string;
  /** The leaf certificate's subject ("CN=tracker.example") and its last valid moment. */
  subject: string;
  notAfter: Date;
}

export type CertLoad = { ok: true; pair: CertPair } | { ok: false; file: string; reason: string };

/** Days from `now` until `notAfter` (fractional; negative once expired). */
export function daysLeft(notAfter: Date, now = Date.now()): number {
  return (notAfter.getTime() - now) / 86_400_000;
}

/** Read and check a pair. Never throws. */
export function loadCertPair(certPath: string, keyPath: string, now = Date.now()): CertLoad {
  let cert: string;
  let key: string;
  try {
    cert = readFileSync(certPath, "utf8");
  } catch (e) {
    return { ok: false, file: certPath, reason: `cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` };
  }
  try {
    key = readFileSync(keyPath, "utf8");
  } catch (e) {
    return { ok: false, file: keyPath, reason: `cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` };
  }
  let leaf: X509Certificate;
  try {
    // X509Certificate reads the first certificate of the PEM text: the leaf of a chain.
    leaf = new X509Certificate(cert);
  } catch {
    return { ok: false, file: certPath, reason: "not a PEM certificate" };
  }
  let privateKey: ReturnType<typeof createPrivateKey>;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    return { ok: false, file: keyPath, reason: "not a PEM private key (or it is encrypted)" };
  }
  if (!leaf.checkPrivateKey(privateKey)) {
    return { ok: false, file: keyPath, reason: `is not the key of the certificate in ${certPath}` };
  }
  const notAfter = new Date(leaf.validTo);
  const notBefore = new Date(leaf.validFrom);
  if (notAfter.getTime() <= now) return { ok: false, file: certPath, reason: `expired on ${notAfter.toISOString()}` };
  if (notBefore.getTime() > now) return { ok: false, file: certPath, reason: `not valid before ${notBefore.toISOString()}` };
  return { ok: true, pair: { cert, key, subject: leaf.subject.replaceAll("\n", ", "), notAfter } };
}
