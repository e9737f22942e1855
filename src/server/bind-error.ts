/**
 * A listening socket that cannot be had, said so an operator knows what to do: which port,
 * which protocol, and the likely cause. main.ts exits with code 2 for it (bad input, like a bad
 * setting), not 1.
 */
export class BindError extends Error {}

/** `e` (from Bun.serve or Bun.udpSocket) as a BindError when it is a bind failure, else `e`. */
export function bindError(e: unknown, host: string, port: number, protocol: "tcp" | "udp"): unknown {
  const err = e as { code?: string; message?: string } | null;
  const text = `${err?.code ?? ""} ${err?.message ?? String(e)}`;
  if (/EADDRINUSE|in use/i.test(text)) return new BindError(`port ${port}/${protocol} is already in use (another tracker?)`);
  if (/EACCES|permission denied/i.test(text)) {
    return new BindError(`port ${port}/${protocol}: permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)`);
  }
  if (/EADDRNOTAVAIL/i.test(text)) return new BindError(`cannot listen on ${host} port ${port}/${protocol}: no such address on this machine`);
  return e;
}
