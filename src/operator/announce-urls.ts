/**
 * The announce URLs a tracker is reachable at, for the start-up lines: what an operator pastes
 * into a torrent. A wildcard host (`::`, `0.0.0.0`) is shown as this machine's name, which is
 * what clients elsewhere must use (or its address); private mode shows the passkey's place.
 */
import { hostname } from "node:os";

export interface UrlSettings {
  host: string;
  http: boolean;
  udp: boolean;
  ws: boolean;
  private: boolean;
}

/** `port`: the HTTP/UDP port; `tlsPort`: HTTPS and wss:// (0: none). */
export function announceUrls(c: UrlSettings, port: number, tlsPort = 0, machine = hostname()): string[] {
  const wildcard = c.host === "::" || c.host === "0.0.0.0" || c.host === "";
  const name = wildcard ? machine : c.host.includes(":") ? `[${c.host}]` : c.host;
  const path = c.private ? "/<passkey>/announce" : "/announce";
  const urls: string[] = [];
  if (c.http) urls.push(`http://${name}:${port}${path}`);
  if (c.udp) urls.push(`udp://${name}:${port}${path}`);
  if (c.http && c.ws) urls.push(`ws://${name}:${port}${c.private ? path : ""}`);
  if (tlsPort !== 0) {
    urls.push(`https://${name}:${tlsPort}${path}`);
    if (c.ws) urls.push(`wss://${name}:${tlsPort}${c.private ? path : ""}`);
  }
  return urls;
}
