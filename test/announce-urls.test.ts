import { describe, expect, test } from "bun:test";
import { announceUrls } from "../src/operator/announce-urls.ts";

const base = { host: "::", http: true, udp: true, ws: true, private: false };

describe("announce URLs on the start-up lines", () => {
  test("a wildcard host is shown as the machine's name; every protocol served is listed", () => {
    expect(announceUrls(base, 6969, 0, "tracker.example")).toEqual([
      "http://tracker.example:6969/announce", "udp://tracker.example:6969/announce", "ws://tracker.example:6969",
    ]);
    expect(announceUrls({ ...base, host: "0.0.0.0" }, 6969, 0, "m")[0]).toBe("http://m:6969/announce");
  });

  test("a literal host as given (IPv6 in brackets); private mode shows where the passkey goes", () => {
    expect(announceUrls({ ...base, host: "::1", private: true }, 7000, 0, "m")).toEqual([
      "http://[::1]:7000/<passkey>/announce", "udp://[::1]:7000/<passkey>/announce", "ws://[::1]:7000/<passkey>/announce",
    ]);
  });

  test("with a TLS port: https:// and wss:// on it (also with HTTP off)", () => {
    expect(announceUrls({ ...base, host: "127.0.0.1", http: false }, 6969, 6443, "m")).toEqual([
      "udp://127.0.0.1:6969/announce", "https://127.0.0.1:6443/announce", "wss://127.0.0.1:6443",
    ]);
  });

  test("what is off is not listed: no HTTP means no WebSocket either", () => {
    expect(announceUrls({ ...base, host: "127.0.0.1", http: false }, 1, 0, "m")).toEqual(["udp://127.0.0.1:1/announce"]);
    expect(announceUrls({ ...base, host: "127.0.0.1", udp: false, ws: false }, 1, 0, "m")).toEqual(["http://127.0.0.1:1/announce"]);
  });
});
