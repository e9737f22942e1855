/**
 * Test support: self-signed certificates made by the test itself with Debian's `openssl`
 * (`openssl req -x509`), for 127.0.0.1 and localhost. No binary is a failure, not a skip.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestCert {
  cert: string;
  key: string;
  /** The certificate's PEM text (a client trusts it as its CA). */
  pem: string;
}

export function certDir(): string {
  return mkdtempSync(join(tmpdir(), "sc6-tls-"));
}

/** A new key and self-signed certificate in dir, named `name`, valid for `days` (negative: already expired). */
export async function makeCert(dir: string, name: string, cn = "sc6 test", days = 30): Promise<TestCert> {
  const openssl = Bun.which("openssl");
  if (openssl === null) throw new Error("openssl not found: the TLS tests make their certificates with it (apt-get install openssl)");
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  const san = "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1";
  if (days >= 0) {
    await run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
      "-keyout", key, "-out", cert, "-subj", `/CN=${cn}`, "-addext", san, "-days", String(days)]);
  } else {
    // OpenSSL 3.0's `req` cannot date a certificate in the past; `ca -selfsign` can (January 2020).
    const ca = mkdtempSync(join(dir, "ca-"));
    writeFileSync(join(ca, "index.txt"), "");
    writeFileSync(join(ca, "serial"), "01\n");
    writeFileSync(join(ca, "ca.cnf"), `[ca]\ndefault_ca = d\n[d]\ndir = ${ca}\ndatabase = ${ca}/index.txt\nserial = ${ca}/serial\n` +
      `new_certs_dir = ${ca}\ndefault_md = sha256\npolicy = p\n[p]\ncommonName = supplied\n`);
    await run([openssl, "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
      "-keyout", key, "-out", join(ca, "req.csr"), "-subj", `/CN=${cn}`]);
    await run([openssl, "ca", "-batch", "-notext", "-config", join(ca, "ca.cnf"), "-selfsign", "-keyfile", key,
      "-in", join(ca, "req.csr"), "-out", cert, "-startdate", "20200101000000Z", "-enddate", "20200201000000Z"]);
  }
  return { cert, key, pem: await Bun.file(cert).text() };
}

async function run(args: string[]): Promise<void> {
  const p = Bun.spawn(args, { stdout: "ignore", stderr: "pipe" });
  if ((await p.exited) !== 0) throw new Error(`${args.slice(0, 2).join(" ")} failed: ${await new Response(p.stderr).text()}`);
}
