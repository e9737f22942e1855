import { runSwarm } from "./swarm.ts";
import { httpAnnounces, udpExchanges, showPeerId } from "./traffic.ts";
const [seeder, downloader, protocol, host, priv, dials, thost] = process.argv.slice(2);
const t0 = performance.now();
const r = await runSwarm({ seeder: seeder as any, downloader: downloader as any, protocol: protocol as any, announceHost: host!, trackerHost: thost ?? host!, private: priv === "1", seederDials: dials === "1" });
console.log("ms", Math.round(performance.now() - t0), r.sandbox, r.stops, r.trackerCounters, JSON.stringify(r.scrapes), r.expectedSha256 === r.downloadedSha256, "seederPort", r.seederPort, "dlPort", r.downloaderPort);
for (const a of httpAnnounces(r.traffic)) console.log("HTTP", a.from, a.userAgent, showPeerId(a.peerId), a.event, "left", a.left, "port", a.port, a.names.join(","), "->", a.peers, JSON.stringify(a.raw));
for (const x of udpExchanges(r.traffic)) console.log("UDP", x.from, x.sourcePort, JSON.stringify(x.request, (k, v) => typeof v === "bigint" ? v.toString() : (v && v.type === "Buffer") ? showPeerId(Buffer.from(v.data)) : v), "->", JSON.stringify(x.reply));
for (const e of r.traffic) if (e.t === "http" && !e.target.startsWith("/announce")) {}
