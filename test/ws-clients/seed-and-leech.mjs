// Two real WebTorrent clients (webtorrent 3, WebRTC through @roamhq/wrtc) move a random file
// through one WebSocket tracker and nothing else.
//
//   node seed-and-leech.mjs <ws://host:port[/path]> <work-dir> [--bytes N] [--timeout-ms N] [--by magnet|torrent]
//
// The seeder seeds a fresh random file (1 MiB unless told) with the tracker as its only
// announce URL; a second client adds it by magnet link (or by .torrent) with that same tracker
// only. DHT, local peer discovery, peer exchange, NAT traversal and web seeds are off in both,
// and WebRTC has no STUN servers (host candidates only), so the leecher can only learn of the
// seeder through the tracker's WebRTC signalling, and nothing leaves the machine. Prints
// progress lines and, last, one JSON line:
//   {"ok":true,"bytes":N,"ms":N,"seedSha256":"..","leechSha256":"..","infoHash":"..","wires":[..]}
// exit 0 when the copy's SHA-256 matches, non-zero with a message otherwise. Every wait is
// bounded, and both clients are destroyed (bounded) before exiting.
import WebTorrent from 'webtorrent'
// The same module instance that webtorrent's tracker client uses (one copy in node_modules; the
// package's "exports" do not list it, so it is imported by path): see offersAnswered().
import WebSocketTracker from './node_modules/bittorrent-tracker/lib/client/websocket-tracker.js'
import { randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { emit, fail, parseArgs, rtcConfig, sha256File, waitForTcp, within, wrtc } from './lib.mjs'

const { positional, options } = parseArgs()
const [trackerUrl, workDir] = positional
if (!trackerUrl || !workDir) fail('usage: seed-and-leech.mjs <ws://host:port> <work-dir> [--bytes N] [--timeout-ms N] [--by magnet|torrent]')
const bytes = Number(options.bytes ?? 1024 * 1024)
const timeoutMs = Number(options['timeout-ms'] ?? 60_000)
const by = options.by ?? 'magnet'
const started = Date.now()
const left = () => Math.max(1000, timeoutMs - (Date.now() - started))

/** A client that finds peers through the tracker only, with WebRTC from @roamhq/wrtc. */
function newClient () {
  return new WebTorrent({
    dht: false,
    lsd: false,
    utPex: false,
    natUpnp: false,
    natPmp: false,
    webSeeds: false,
    tracker: { wrtc, rtcConfig },
  })
}

/**
 * Per tracker client (a bittorrent-tracker Client, one per torrent): how many announces it sent
 * that the tracker answers (all but WebRTC answers), which of them first carried offers, and
 * how many answers (`update` events) came back. A WebSocket tracker answers in order.
 *
 * Why: a seeder sends `completed` at once (no offers) and `started` only after gathering ICE
 * candidates for its offers (~150 ms). A leecher that announces in between gets the seeder's
 * offers while the seeder gets its own: two connections cross, each side keeps the other one
 * as a duplicate of the same peer id and drops the other, and both die ("Ice connection
 * failed"; about 1 run in 6 here, with the npm server as with ours). Real clients wait for the
 * next announce interval; the test waits instead until the seeder's offers were answered.
 */
const announces = new Map()
function announceState (client) {
  let s = announces.get(client)
  if (s === undefined) {
    s = { sent: 0, offersAt: 0, answers: 0, waiters: [] }
    announces.set(client, s)
    client.on('update', () => {
      s.answers++
      for (const w of s.waiters.splice(0)) w()
    })
  }
  return s
}
const realSend = WebSocketTracker.prototype._send
WebSocketTracker.prototype._send = function (params) {
  if (params.action === 'announce' && params.answer === undefined) {
    const s = announceState(this.client)
    s.sent++
    if (s.offersAt === 0 && Array.isArray(params.offers) && params.offers.length > 0) s.offersAt = s.sent
  }
  return realSend.call(this, params)
}

/** Resolves once the torrent's tracker client has had its first announce with offers answered. */
async function offersAnswered (torrent, ms) {
  const client = torrent.discovery?.tracker
  if (!client) throw new Error('the torrent has no tracker client')
  const s = announceState(client)
  await within(ms, 'the tracker\'s answer to the seeder\'s announce with WebRTC offers', (async () => {
    while (!(s.offersAt > 0 && s.answers >= s.offersAt)) await new Promise(resolve => s.waiters.push(resolve))
  })())
  return { sent: s.sent, answers: s.answers }
}

const clients = []
let finished = false

/** Destroy every client (each bounded), then exit with `code`. */
async function finish (code) {
  if (finished) return
  finished = true
  await Promise.allSettled(clients.map(c => within(5000, 'client destroy', new Promise(resolve => c.destroy(() => resolve())))))
  process.exit(code)
}

function failAndFinish (message, extra) {
  emit({ ok: false, error: message, ms: Date.now() - started, ...extra })
  process.stderr.write(`FAILED: ${message}\n`)
  return finish(1)
}

// Nothing may hang: a last bound over everything.
setTimeout(() => failAndFinish(`no result within ${timeoutMs + 5000} ms`), timeoutMs + 5000).unref()

try {
  await waitForTcp(trackerUrl, Math.min(10_000, left()))

  const seedDir = join(workDir, 'seed')
  const leechDir = join(workDir, 'leech')
  mkdirSync(seedDir, { recursive: true })
  mkdirSync(leechDir, { recursive: true })
  const source = join(seedDir, 'random.bin')
  writeFileSync(source, randomBytes(bytes))
  const seedSha256 = await sha256File(source)

  const seeder = newClient()
  clients.push(seeder)
  seeder.on('error', err => failAndFinish(`seeder client: ${err.message ?? err}`))
  const seeding = new Promise(resolve => seeder.seed(source, { announce: [trackerUrl], path: seedDir }, resolve))
  const seedTorrent = await within(left(), 'the seeder to hash the file', seeding)
  seedTorrent.on('warning', err => emit({ role: 'seeder', warning: String(err.message ?? err) }))
  seedTorrent.on('error', err => failAndFinish(`seeder torrent: ${err.message ?? err}`))
  emit({ role: 'seeder', seeding: seedTorrent.infoHash, announce: seedTorrent.announce })
  // The seeder sits in the tracker's swarm, its own offers answered, before the leecher comes.
  const seen = await offersAnswered(seedTorrent, Math.min(15_000, left()))
  emit({ role: 'seeder', offersAnswered: true, announces: seen.sent, answers: seen.answers, ms: Date.now() - started })

  const leecher = newClient()
  clients.push(leecher)
  leecher.on('error', err => failAndFinish(`leecher client: ${err.message ?? err}`))
  const what = by === 'torrent' ? Buffer.from(seedTorrent.torrentFile) : seedTorrent.magnetURI
  const leechTorrent = leecher.add(what, { announce: [trackerUrl], path: leechDir })
  leechTorrent.on('warning', err => emit({ role: 'leecher', warning: String(err.message ?? err) }))
  leechTorrent.on('error', err => failAndFinish(`leecher torrent: ${err.message ?? err}`))
  leechTorrent.on('wire', (wire, addr) => emit({ role: 'leecher', wire: wire.type, addr: addr ?? null }))
  emit({ role: 'leecher', adding: by, announce: leechTorrent.announce })

  await within(left(), `the download (${bytes} bytes; leecher has ${leechTorrent.numPeers} peers, ${leechTorrent.downloaded} bytes)`,
    new Promise(resolve => (leechTorrent.done ? resolve() : leechTorrent.once('done', resolve))))

  const copy = join(leechDir, leechTorrent.files[0].path)
  const leechSha256 = await sha256File(copy)
  const result = {
    ok: leechSha256 === seedSha256,
    bytes,
    ms: Date.now() - started,
    seedSha256,
    leechSha256,
    infoHash: seedTorrent.infoHash,
    by,
    wires: leechTorrent.wires.map(w => w.type),
    uploaded: seedTorrent.uploaded,
    downloaded: leechTorrent.downloaded,
  }
  if (!result.ok) await failAndFinish('SHA-256 of the copy differs from the original', result)
  else {
    emit(result)
    await finish(0)
  }
} catch (err) {
  await failAndFinish(err.message ?? String(err))
}
