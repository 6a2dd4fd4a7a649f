import net from "node:net";

/**
 * A loopback port nothing listens on (bound, then released): connections to it are refused
 * until someone binds it (e.g. a server the test starts next with this port).
 */
export async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
