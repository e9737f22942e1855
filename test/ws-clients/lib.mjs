// Helpers shared by the scripts of this folder (run with node, not bun).
import net from 'node:net'
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { createRequire } from 'node:module'

/** @roamhq/wrtc: the WebRTC implementation (its npm package ships the linux-x64 binary). */
export const wrtc = createRequire(import.meta.url)('@roamhq/wrtc')

/**
 * RTCPeerConnection configuration for every peer: no ICE servers. simple-peer's default lists
 * public STUN servers (stun.l.google.com, global.stun.twilio.com); these clients must never
 * reach past this machine, and host candidates are all a loopback swarm needs.
 */
export const rtcConfig = { iceServers: [] }

/** One JSON object on one line of stdout. */
export function emit (obj) {
  process.stdout.write(JSON.stringify(obj) + '\n')
}

/** Print the reason on stderr (and as a JSON line on stdout) and exit non-zero. */
export function fail (message, extra = {}) {
  emit({ ok: false, error: message, ...extra })
  process.stderr.write(`FAILED: ${message}\n`)
  process.exit(1)
}

/** `--name value` options and positional words of process.argv. */
export function parseArgs (argv = process.argv.slice(2)) {
  const positional = []
  const options = {}
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a.startsWith('--')) {
      const eq = a.indexOf('=')
      if (eq > 0) options[a.slice(2, eq)] = a.slice(eq + 1)
      else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) options[a.slice(2)] = argv[++i]
      else options[a.slice(2)] = 'true'
    } else positional.push(a)
  }
  return { positional, options }
}

export function sleep (ms) {
  return new Promise(resolve => setTimeout(resolve, ms))
}

/** `promise`, or a rejection naming `what` after `ms`. */
export function within (ms, what, promise) {
  let timer
  const timeout = new Promise((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** The next `event` of `emitter` (its arguments' first), bounded by `ms`. */
export function nextEvent (emitter, event, ms, what = event) {
  return within(ms, what, new Promise(resolve => emitter.once(event, resolve)))
}

/**
 * Wait (bounded) until something accepts TCP connections on the tracker URL's host and port:
 * the tracker may have been started a moment ago, next to this script.
 */
export async function waitForTcp (url, ms = 10_000) {
  const { hostname, port } = new URL(url)
  const host = hostname.replace(/^\[|\]$/g, '')
  const deadline = Date.now() + ms
  for (;;) {
    const ok = await new Promise(resolve => {
      const s = net.connect({ host, port: Number(port) })
      s.once('connect', () => { s.destroy(); resolve(true) })
      s.once('error', () => { s.destroy(); resolve(false) })
    })
    if (ok) return
    if (Date.now() >= deadline) throw new Error(`nothing listens on ${host}:${port} after ${ms} ms`)
    await sleep(50)
  }
}

export function sha256File (path) {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256')
    createReadStream(path).on('data', d => h.update(d)).on('error', reject).on('end', () => resolve(h.digest('hex')))
  })
}
