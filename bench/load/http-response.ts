/**
 * HTTP/1.x response framing for the load generator, over a caller-owned byte buffer that
 * accumulates what the socket delivered. No allocation: results go into a reused object.
 * Chunked transfer encoding is not supported (a tracker's answers are small, fixed-length
 * bodies); such an answer is reported as bad framing.
 */
export const FRAME_INCOMPLETE = 0;
export const FRAME_COMPLETE = 1;
export const FRAME_BAD = 2;

export interface HttpFrame {
  state: number;
  status: number;
  bodyStart: number;
  bodyEnd: number;
  /** The server said `Connection: close` (or spoke HTTP/1.0 without keep-alive). */
  close: boolean;
  /** Why framing failed (a constant string, no allocation). */
  reason: string;
}

export function newFrame(): HttpFrame {
  return { state: FRAME_INCOMPLETE, status: 0, bodyStart: 0, bodyEnd: 0, close: false, reason: "" };
}

const CR = 13;
const LF = 10;

function lower(c: number): number {
  return c >= 65 && c <= 90 ? c + 32 : c;
}

/** Case-insensitive: does b[start, end) begin with the lowercase ASCII `name` followed by ':'? */
function headerNameIs(b: Uint8Array, start: number, end: number, name: string): boolean {
  if (end - start <= name.length || b[start + name.length] !== 0x3a) return false;
  for (let i = 0; i < name.length; i++) if (lower(b[start + i]!) !== name.charCodeAt(i)) return false;
  return true;
}

/** Does the header value in b[start, end) contain the lowercase token? */
function valueHas(b: Uint8Array, start: number, end: number, token: string): boolean {
  outer: for (let p = start; p + token.length <= end; p++) {
    for (let i = 0; i < token.length; i++) if (lower(b[p + i]!) !== token.charCodeAt(i)) continue outer;
    return true;
  }
  return false;
}

/**
 * Frames the response in b[0, len). `ended` says the peer closed the connection (a body
 * without Content-Length then ends there). Fills `out`.
 */
export function frameResponse(b: Uint8Array, len: number, ended: boolean, out: HttpFrame): void {
  out.state = FRAME_INCOMPLETE;
  out.status = 0;
  out.close = false;
  out.reason = "";
  // Find the end of the headers.
  let headerEnd = -1;
  for (let p = 3; p < len; p++) {
    if (b[p] === LF && b[p - 1] === CR && b[p - 2] === LF && b[p - 3] === CR) {
      headerEnd = p + 1;
      break;
    }
  }
  if (headerEnd < 0) {
    if (ended || len >= b.length) {
      out.state = FRAME_BAD;
      out.reason = ended ? "closed before the end of the headers" : "headers too large";
    }
    return;
  }
  // Status line: HTTP/1.x NNN
  if (len < 12 || b[0] !== 0x48 || b[1] !== 0x54 || b[2] !== 0x54 || b[3] !== 0x50 || b[4] !== 0x2f) {
    out.state = FRAME_BAD;
    out.reason = "not an HTTP response";
    return;
  }
  const http10 = b[7] === 0x30;
  const d0 = b[9]! - 48;
  const d1 = b[10]! - 48;
  const d2 = b[11]! - 48;
  if (d0 < 0 || d0 > 9 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9) {
    out.state = FRAME_BAD;
    out.reason = "bad status line";
    return;
  }
  out.status = d0 * 100 + d1 * 10 + d2;
  let contentLength = -1;
  let keepAlive = false;
  let p = 0;
  while (p < headerEnd - 2) {
    let eol = p;
    while (eol < headerEnd && b[eol] !== CR) eol++;
    if (p > 0) {
      if (headerNameIs(b, p, eol, "content-length")) {
        let v = 0;
        let digits = 0;
        for (let q = p + 15; q < eol; q++) {
          const c = b[q]!;
          if (c >= 48 && c <= 57) {
            v = v * 10 + (c - 48);
            digits++;
          } else if (c !== 32 && c !== 9) {
            digits = -1000;
          }
        }
        if (digits <= 0 || digits > 9) {
          out.state = FRAME_BAD;
          out.reason = "bad Content-Length";
          return;
        }
        contentLength = v;
      } else if (headerNameIs(b, p, eol, "connection")) {
        if (valueHas(b, p + 11, eol, "close")) out.close = true;
        if (valueHas(b, p + 11, eol, "keep-alive")) keepAlive = true;
      } else if (headerNameIs(b, p, eol, "transfer-encoding")) {
        if (valueHas(b, p + 18, eol, "chunked")) {
          out.state = FRAME_BAD;
          out.reason = "chunked encoding is not supported";
          return;
        }
      }
    }
    p = eol + 2;
  }
  if (http10 && !keepAlive) out.close = true;
  out.bodyStart = headerEnd;
  if (contentLength >= 0) {
    if (len >= headerEnd + contentLength) {
      out.bodyEnd = headerEnd + contentLength;
      out.state = len === out.bodyEnd ? FRAME_COMPLETE : FRAME_BAD;
      if (out.state === FRAME_BAD) out.reason = "bytes after the body";
    } else if (ended) {
      out.state = FRAME_BAD;
      out.reason = "closed before the end of the body";
    } else if (headerEnd + contentLength > b.length) {
      out.state = FRAME_BAD;
      out.reason = "body too large";
    }
    return;
  }
  // No Content-Length: the body runs to the end of the connection.
  out.close = true;
  if (ended) {
    out.bodyEnd = len;
    out.state = FRAME_COMPLETE;
  } else if (len >= b.length) {
    out.state = FRAME_BAD;
    out.reason = "body too large";
  }
}
