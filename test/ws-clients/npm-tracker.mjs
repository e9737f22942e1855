// The npm `bittorrent-tracker` Server, WebSocket tracker only: the reference the tests can be
// pointed at (WS_CLIENTS_TRACKER=npm) to tell a harness problem from a tracker problem.
//   node npm-tracker.mjs <port> [host]      (port 0: any free port)
// Prints {"listening":true,"port":N} once it listens; stops on SIGTERM/SIGINT.
import { Server } from 'bittorrent-tracker'
import { emit, parseArgs } from './lib.mjs'

const { positional } = parseArgs()
const port = Number(positional[0] ?? 0)
const host = positional[1] ?? '127.0.0.1'

const server = new Server({ udp: false, http: false, ws: true, stats: false })
server.on('error', err => { process.stderr.write(`npm-tracker error: ${err.message}\n`); process.exit(1) })
server.on('warning', err => { process.stderr.write(`npm-tracker warning: ${err.message}\n`) })
server.on('listening', () => emit({ listening: true, port: server.ws.address().port, host }))
server.listen(port, host)

function stop () {
  server.close(() => process.exit(0))
  setTimeout(() => process.exit(0), 1000).unref()
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
