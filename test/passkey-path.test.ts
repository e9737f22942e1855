import { expect, test } from "bun:test";
import { passkeyOf } from "../src/protocol/passkey-path.ts";

const KEY = "AbCd-_0123456789abcdefghijklmnop";

test("the key of /<key>/announce and /<key>/scrape", () => {
  expect(passkeyOf(`/${KEY}/announce`, "announce")).toBe(KEY);
  expect(passkeyOf(`/${KEY}/scrape`, "scrape")).toBe(KEY);
  expect(passkeyOf(`/${KEY}/announce?info_hash=x`, "announce")).toBe(KEY); // BEP 41 URL data may carry the query
});

test("other shapes have no key", () => {
  for (const path of [
    "/announce", "/scrape", "//announce", `${KEY}/announce`, `/${KEY}/announcex`, `/${KEY}/announc`,
    `/${KEY}/scrape`, `/${KEY}/`, `/${KEY}`, `/a/b/announce`, "", "/", `/${"k".repeat(65)}/announce`,
  ]) {
    expect(passkeyOf(path, "announce")).toBeNull();
  }
  expect(passkeyOf(`/${"k".repeat(64)}/announce`, "announce")).toBe("k".repeat(64));
});
