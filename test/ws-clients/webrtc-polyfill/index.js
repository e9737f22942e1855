// Stand-in for the npm `webrtc-polyfill` (see ../package.json "overrides"): the same named
// exports, taken from @roamhq/wrtc (resolved from ../node_modules). @thaunknown/simple-peer, used
// by webtorrent and bittorrent-tracker, imports RTCPeerConnection, RTCSessionDescription and
// RTCIceCandidate from here; the rest are exported for completeness (undefined where wrtc has none).
import { createRequire } from 'node:module'

const wrtc = createRequire(import.meta.url)('@roamhq/wrtc')

export const RTCPeerConnection = wrtc.RTCPeerConnection
export const RTCSessionDescription = wrtc.RTCSessionDescription
export const RTCIceCandidate = wrtc.RTCIceCandidate
export const RTCDataChannel = wrtc.RTCDataChannel
export const RTCIceTransport = wrtc.RTCIceTransport
export const RTCSctpTransport = wrtc.RTCSctpTransport
export const RTCDtlsTransport = wrtc.RTCDtlsTransport
export const RTCCertificate = wrtc.RTCCertificate
export const MediaStream = wrtc.MediaStream
export const MediaStreamTrack = wrtc.MediaStreamTrack
export const MediaStreamTrackEvent = wrtc.MediaStreamTrackEvent
export const RTCPeerConnectionIceEvent = wrtc.RTCPeerConnectionIceEvent
export const RTCDataChannelEvent = wrtc.RTCDataChannelEvent
export const RTCTrackEvent = wrtc.RTCTrackEvent
export const RTCError = wrtc.RTCError
export const RTCErrorEvent = wrtc.RTCErrorEvent
export const RTCRtpTransceiver = wrtc.RTCRtpTransceiver
export const RTCRtpReceiver = wrtc.RTCRtpReceiver
export const RTCRtpSender = wrtc.RTCRtpSender

export default wrtc
