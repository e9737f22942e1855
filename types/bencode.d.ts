// Minimal typings for npm `bencode` (v4), the reference decoder used by tests and the load
// generator. Decoded values are loosely typed: tests inspect them structurally.
declare module "bencode" {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  type Decoded = any;
  const bencode: {
    encode(value: unknown): Uint8Array;
    decode(data: Uint8Array, start?: number, end?: number, encoding?: string): Decoded;
    byteLength(value: unknown): number;
    encodingLength(value: unknown): number;
  };
  export default bencode;
}
