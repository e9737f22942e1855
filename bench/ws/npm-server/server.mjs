// npm bittorrent-tracker's WebSocket (WebTorrent) tracker alone, for bench/ws/compare.ts:
// no HTTP announce, no UDP, no /stats; its defaults otherwise (interval 10 min, so 120 s
// announced to WebSocket peers; at most 1000 peers per swarm in its LRU).
//
// Usage: node bench/ws/npm-server/server.mjs PORT [HOST]   (HOST defaults to 127.0.0.1)
// Prints "listening on ws://HOST:PORT/" once ready; stops on SIGTERM/SIGINT.
import Server from 'bittorrent-tracker/server'

const port = Number(process.argv[2])
const host = process.argv[3] ?? '127.0.0.1'
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error('usage: node server.mjs PORT [HOST]')
  process.exit(2)
}

const server = new Server({ http: false, udp: false, ws: true, stats: false })
let warnings = 0
server.on('warning', () => { warnings++ })
server.on('error', (err) => {
  console.error(`error: ${err.message}`)
  process.exit(1)
})
server.listen(port, host, () => {
  console.log(`listening on ws://${host}:${port}/`)
})

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    console.log(`warnings: ${warnings}`)
    server.close()
    process.exit(0)
  })
}
