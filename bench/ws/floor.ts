/**
 * The "WebSocket floor": the least a Bun WebSocket tracker can do for the WebTorrent protocol,
 * and so the most such a tracker can reach on this machine. No tracker rules: no numwant, no
 * peer counts beyond the size of a swarm's set, no validation beyond what relaying needs, no
 * intervals, no expiry (a peer leaves its swarms when its socket closes).
 *
 *   announce with offers  -> parse (JSON.parse), answer {"action":"announce","info_hash",
 *                            "complete","incomplete","interval"}, relay each offer to a
 *                            different random other socket of the swarm
 *   announce with answer  -> forward to the socket of to_peer_id (no reply to the sender)
 *   scrape                -> {"action":"scrape","files":{hash:{complete,incomplete,downloaded}}}
 *
 * Usage: npx bun run bench/ws/floor.ts PORT [HOST]   (HOST defaults to 127.0.0.1)
 * Prints "listening on ws://HOST:PORT/" once ready; stops on SIGTERM/SIGINT.
 */
import type { ServerWebSocket } from "bun";

interface Peer {
  peerId: string | null;
  /** Swarms joined, by binary info_hash. */
  swarms: Set<Swarm>;
}

interface Swarm {
  infoHash: string;
  /** Sockets by binary peer_id. */
  byId: Map<string, ServerWebSocket<Peer>>;
  /** The same sockets, for picking at random (swap-remove on leave). */
  list: ServerWebSocket<Peer>[];
}

const port = Number(process.argv[2]);
const hostname = process.argv[3] ?? "127.0.0.1";
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error("usage: bun run bench/ws/floor.ts PORT [HOST]");
  process.exit(2);
}

const swarms = new Map<string, Swarm>();

function join(ws: ServerWebSocket<Peer>, infoHash: string, peerId: string): Swarm {
  let swarm = swarms.get(infoHash);
  if (swarm === undefined) {
    swarm = { infoHash, byId: new Map(), list: [] };
    swarms.set(infoHash, swarm);
  }
  if (!ws.data.swarms.has(swarm)) {
    ws.data.swarms.add(swarm);
    swarm.byId.set(peerId, ws);
    swarm.list.push(ws);
  }
  return swarm;
}

function leave(ws: ServerWebSocket<Peer>): void {
  for (const swarm of ws.data.swarms) {
    if (ws.data.peerId !== null) swarm.byId.delete(ws.data.peerId);
    const i = swarm.list.indexOf(ws);
    if (i >= 0) {
      swarm.list[i] = swarm.list[swarm.list.length - 1]!;
      swarm.list.pop();
    }
    if (swarm.list.length === 0) swarms.delete(swarm.infoHash);
  }
  ws.data.swarms.clear();
}

function announce(ws: ServerWebSocket<Peer>, msg: Record<string, unknown>): void {
  const infoHash = msg.info_hash;
  const peerId = msg.peer_id;
  if (typeof infoHash !== "string" || typeof peerId !== "string") return;
  ws.data.peerId ??= peerId;
  const swarm = join(ws, infoHash, peerId);
  const infoHashJson = JSON.stringify(infoHash);

  if (msg.answer !== undefined) {
    const to = typeof msg.to_peer_id === "string" ? swarm.byId.get(msg.to_peer_id) : undefined;
    to?.send(
      `{"action":"announce","info_hash":${infoHashJson},"peer_id":${JSON.stringify(peerId)},"answer":${JSON.stringify(msg.answer)},"offer_id":${JSON.stringify(msg.offer_id)}}`,
    );
    return;
  }

  ws.send(`{"action":"announce","info_hash":${infoHashJson},"complete":0,"incomplete":${swarm.list.length},"interval":120}`);

  const offers = msg.offers;
  if (!Array.isArray(offers) || offers.length === 0) return;
  const n = swarm.list.length;
  if (n < 2) return;
  // Distinct random other peers: walk the list from a random start.
  let i = Math.floor(Math.random() * n);
  let sent = 0;
  const peerIdJson = JSON.stringify(peerId);
  for (let step = 0; step < n && sent < offers.length; step++, i = i + 1 === n ? 0 : i + 1) {
    const other = swarm.list[i]!;
    if (other === ws) continue;
    const o = offers[sent] as { offer?: unknown; offer_id?: unknown };
    other.send(
      `{"action":"announce","info_hash":${infoHashJson},"peer_id":${peerIdJson},"offer":${JSON.stringify(o.offer)},"offer_id":${JSON.stringify(o.offer_id)}}`,
    );
    sent++;
  }
}

function scrape(ws: ServerWebSocket<Peer>, msg: Record<string, unknown>): void {
  const hashes = typeof msg.info_hash === "string" ? [msg.info_hash] : Array.isArray(msg.info_hash) ? msg.info_hash : [...swarms.keys()];
  const files: Record<string, { complete: number; incomplete: number; downloaded: number }> = {};
  for (const h of hashes) {
    if (typeof h !== "string") continue;
    files[h] = { complete: 0, incomplete: swarms.get(h)?.list.length ?? 0, downloaded: 0 };
  }
  ws.send(JSON.stringify({ action: "scrape", files }));
}

const server = Bun.serve<Peer>({
  hostname,
  port,
  fetch(req, srv) {
    if (srv.upgrade(req, { data: { peerId: null, swarms: new Set() } })) return undefined;
    return new Response("WebSocket only\n", { status: 426 });
  },
  websocket: {
    message(ws, text) {
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(typeof text === "string" ? text : text.toString());
      } catch {
        ws.send('{"failure reason":"invalid JSON"}');
        return;
      }
      if (msg.action === "announce") announce(ws, msg);
      else if (msg.action === "scrape") scrape(ws, msg);
      else ws.send('{"failure reason":"invalid action"}');
    },
    close(ws) {
      leave(ws);
    },
  },
});

console.log(`listening on ws://${hostname}:${server.port}/`);

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    server.stop(true);
    process.exit(0);
  });
}
