/**
 * Where the path and the query lie in the URL Bun hands a fetch handler (`req.url`).
 *
 * Bun gives an absolute URL ("http://host:port/path?query") when the request carried a Host
 * header, and the bare request-target ("/path?query") when it did not (HTTP/1.0 clients,
 * hand-written scripts). Both are read here, by position, without allocating: a path is routed
 * exactly as sent, so "/x/announce" is not "/announce", and "/announce" without a Host header is
 * still an announce.
 */

/** Positions in the URL of the last target read (one reused object: no allocation). */
export class RequestTarget {
  /** The path is url[pathStart .. pathEnd) ("" when the URL has none). */
  pathStart = 0;
  pathEnd = 0;
  /** The query (after '?') is url[queryStart .. url.length); url.length when there is none. */
  queryStart = 0;
}

/** Fill `t` with where the path and the query of `url` lie. Never throws. */
export function readRequestTarget(url: string, t: RequestTarget): void {
  let ps: number;
  if (url.charCodeAt(0) === 0x2f /* / */) ps = 0; // origin form: no Host header
  else {
    // Absolute form: the path starts at the first '/' after "scheme://authority".
    const scheme = url.indexOf("://");
    ps = scheme < 0 ? -1 : url.indexOf("/", scheme + 3);
  }
  const len = url.length;
  if (ps < 0) {
    // No path at all: an authority alone, or something Bun should never hand us.
    const q = url.indexOf("?");
    t.pathStart = t.pathEnd = q < 0 ? len : q;
    t.queryStart = q < 0 ? len : q + 1;
    return;
  }
  const qm = url.indexOf("?", ps);
  t.pathStart = ps;
  t.pathEnd = qm < 0 ? len : qm;
  t.queryStart = qm < 0 ? len : qm + 1;
}
