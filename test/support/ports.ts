/**
 * Test support: a port free on 127.0.0.1 for TCP and UDP both (released again before
 * returning), for tests that must start a tracker process on a port they know in advance.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const tcp = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const port = tcp.port;
    try {
      const udp = await Bun.udpSocket({ hostname: "127.0.0.1", port });
      udp.close();
      return port;
    } catch {
      // UDP side taken: try another TCP port.
    } finally {
      tcp.stop(true);
    }
  }
  throw new Error("no port free for both TCP and UDP on 127.0.0.1");
}
