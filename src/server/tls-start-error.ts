/**
 * The HTTPS certificate pair does not load at start: main.ts exits 2, naming the file. In a
 * module of its own so main.ts can recognise it without loading the TLS code (node:crypto costs
 * ~4 MB of resident memory; it is loaded only with --tls-port).
 */
export class TlsStartError extends Error {}
