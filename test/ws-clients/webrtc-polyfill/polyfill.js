// As webrtc-polyfill/polyfill: put the WebRTC classes on globalThis where missing.
import * as WebRTC from './index.js'

for (const [key, value] of Object.entries(WebRTC)) {
  if (key !== 'default' && value !== undefined) globalThis[key] ??= value
}
