import { afterAll, describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { daysLeft, loadCertPair } from "../src/server/tls-certs.ts";
import { certDir, makeCert } from "./support/certs.ts";

const dir = certDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("loadCertPair", () => {
  test("a good pair: subject and expiry, chain files accepted (leaf first)", async () => {
    const a = await makeCert(dir, "a", "tracker.example", 30);
    const b = await makeCert(dir, "b", "intermediate", 30);
    writeFileSync(join(dir, "chain.crt"), a.pem + b.pem);
    for (const cert of [a.cert, join(dir, "chain.crt")]) {
      const r = loadCertPair(cert, a.key);
      if (!r.ok) throw new Error(r.reason);
      expect(r.pair.subject).toBe("CN=tracker.example");
      expect(daysLeft(r.pair.notAfter)).toBeGreaterThan(29);
      expect(daysLeft(r.pair.notAfter)).toBeLessThanOrEqual(30);
    }
  });

  test("each bad case names the file and the reason", async () => {
    const a = await makeCert(dir, "a2", "a", 30);
    const b = await makeCert(dir, "b2", "b", 30);
    const old = await makeCert(dir, "old", "old", -1);
    writeFileSync(join(dir, "junk.pem"), "not pem\n");
    const cases: [string, string, string, RegExp][] = [
      [join(dir, "missing.crt"), a.key, join(dir, "missing.crt"), /cannot read it \(ENOENT\)/],
      [a.cert, join(dir, "missing.key"), join(dir, "missing.key"), /cannot read it \(ENOENT\)/],
      [join(dir, "junk.pem"), a.key, join(dir, "junk.pem"), /not a PEM certificate/],
      [a.cert, join(dir, "junk.pem"), join(dir, "junk.pem"), /not a PEM private key/],
      [a.cert, b.key, b.key, new RegExp(`is not the key of the certificate in ${a.cert.replaceAll(".", "\\.")}`)],
      [old.cert, old.key, old.cert, /expired on 2020-02-01/],
    ];
    for (const [cert, key, file, reason] of cases) {
      const r = loadCertPair(cert, key);
      expect(r.ok).toBe(false);
      if (r.ok) continue;
      expect(r.file).toBe(file);
      expect(r.reason).toMatch(reason);
    }
  });
});
