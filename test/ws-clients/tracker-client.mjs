// The npm `bittorrent-tracker` Client over a WebSocket tracker: announce (started, with WebRTC
// offers made through @roamhq/wrtc), scrape, announce stopped; then a second client (another
// peer id) scrapes the same torrent, to see what the tracker kept after the stop.
//
//   node tracker-client.mjs <ws://host:port[/path]> [--info-hash HEX40] [--left N] [--timeout-ms N]
//
// Prints one JSON line per answer, in this order, with what the tracker said:
//   {"step":"start","complete":N,"incomplete":N,"interval":N,...}       (the `update` event)
//   {"step":"scrape","complete":N,"incomplete":N,"downloaded":N,...}    (the `scrape` event)
//   {"step":"stop","complete":N,"incomplete":N,...}                     (the `update` event)
//   {"step":"scrape-after-stop","complete":N,"incomplete":N,...}        (second client's `scrape`)
//   {"ok":true,"infoHash":"..","peerId":"..","ms":N}
// Exits non-zero on the client's `error` or `warning` event (a failure reason from the
// tracker, an invalid answer, a lost connection) and when an answer does not come in time.
import { Client } from 'bittorrent-tracker'
import { randomBytes } from 'node:crypto'
import { emit, fail, nextEvent, parseArgs, rtcConfig, waitForTcp, within, wrtc } from './lib.mjs'

const { positional, options } = parseArgs()
const [trackerUrl] = positional
if (!trackerUrl) fail('usage: tracker-client.mjs <ws://host:port> [--info-hash HEX40] [--left N] [--timeout-ms N]')
const infoHash = (options['info-hash'] ?? randomBytes(20).toString('hex')).toLowerCase()
const leftBytes = Number(options.left ?? 1000) // > 0: a leecher, counted as incomplete
const stepMs = Number(options['timeout-ms'] ?? 10_000)
const started = Date.now()

setTimeout(() => fail(`no result within ${5 * stepMs + 5000} ms`), 5 * stepMs + 5000).unref()

/** A Client for our torrent whose `error` and `warning` end the script. */
function newClient (name) {
  const peerId = randomBytes(20).toString('hex')
  const client = new Client({
    infoHash,
    peerId,
    announce: [trackerUrl],
    port: 6881,
    wrtc,
    rtcConfig,
    getAnnounceOpts: () => ({ left: leftBytes }),
  })
  client.on('error', err => fail(`${name}: error event: ${err.message ?? err}`, { infoHash }))
  client.on('warning', err => fail(`${name}: warning event: ${err.message ?? err}`, { infoHash }))
  return { client, peerId }
}

/** What the tracker said, without the binary info_hash echo. */
function answer (step, data) {
  const { info_hash: _binary, ...rest } = data
  return { step, ...rest }
}

function destroy (client) {
  return within(5000, 'client destroy', new Promise(resolve => client.destroy(() => resolve())))
}

try {
  await waitForTcp(trackerUrl, stepMs)

  const { client, peerId } = newClient('client')
  const afterStart = nextEvent(client, 'update', stepMs, 'the answer to announce started')
  client.start()
  emit(answer('start', await afterStart))

  const afterScrape = nextEvent(client, 'scrape', stepMs, 'the answer to scrape')
  client.scrape()
  emit(answer('scrape', await afterScrape))

  const afterStop = nextEvent(client, 'update', stepMs, 'the answer to announce stopped')
  client.stop()
  emit(answer('stop', await afterStop))
  await destroy(client)

  const { client: other } = newClient('second client')
  const afterOtherScrape = nextEvent(other, 'scrape', stepMs, 'the second client\'s scrape answer')
  other.scrape()
  emit(answer('scrape-after-stop', await afterOtherScrape))
  await destroy(other)

  emit({ ok: true, infoHash, peerId, ms: Date.now() - started })
  process.exit(0)
} catch (err) {
  fail(err.message ?? String(err), { infoHash })
}
