/**
 * Where the path and the query lie in Bun's req.url: absolute (a Host header was sent) or the
 * bare request-target (none was). Routing depends on it (regression: see http-integration).
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { readRequestTarget, RequestTarget } from "../src/protocol/http-target.ts";

function split(url: string): [string, string] {
  const t = new RequestTarget();
  readRequestTarget(url, t);
  return [url.slice(t.pathStart, t.pathEnd), url.slice(t.queryStart)];
}

describe("readRequestTarget", () => {
  test.each([
    ["http://h:6969/announce?a=1", "/announce", "a=1"],
    ["http://[::1]:6969/scrape", "/scrape", ""],
    ["/announce?info_hash=%2F%2F", "/announce", "info_hash=%2F%2F"],
    ["/x/announce?a", "/x/announce", "a"],
    ["//announce", "//announce", ""],
    ["http://h/a?b?c", "/a", "b?c"],
    ["http://h?q", "", "q"],
    ["http://h", "", ""],
    ["/", "/", ""],
    ["/?", "/", ""],
  ])("%p -> path %p, query %p", (url, path, query) => {
    expect(split(url)).toEqual([path, query]);
  });

  test("property: an absolute URL and its bare target give the same path and query", () => {
    const segment = fc.stringMatching(/^[a-z0-9_%./-]{0,12}$/);
    fc.assert(
      fc.property(segment, fc.option(fc.stringMatching(/^[a-z0-9=&%/?]{0,20}$/)), (p, q) => {
        const target = "/" + p + (q === null ? "" : "?" + q);
        expect(split("http://tracker.example:6969" + target)).toEqual(split(target));
      }),
      { numRuns: 500 },
    );
  });
});
