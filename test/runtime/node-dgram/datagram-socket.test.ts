/**
 * The `node:dgram` adapter on real loopback sockets (127.0.0.1 and ::1), under whichever
 * runtime runs the tests.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import dgram from "node:dgram";
import type { Datagram } from "../../../src/core/datagram.ts";
import { openNodeDatagram } from "../../../src/runtime/node-dgram/datagram-socket.ts";

/** A UDP echo server: answers each datagram with "echo:" + it, from its own port. */
async function echoServer(address: string) {
  const server = dgram.createSocket(address.includes(":") ? "udp6" : "udp4");
  const seen: { address: string; port: number }[] = [];
  server.on("message", (msg: Uint8Array, rinfo: { address: string; port: number }) => {
    seen.push({ address: rinfo.address, port: rinfo.port });
    server.send(new Uint8Array([...new TextEncoder().encode("echo:"), ...msg]), rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => server.bind(0, address, resolve));
  return { port: server.address().port, seen, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

async function closedUdpPort(): Promise<number> {
  const s = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => s.bind(0, "127.0.0.1", resolve));
  const port = s.address().port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | "timeout"> {
  return Promise.race([p, new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), ms))]);
}

const isDeno = "Deno" in globalThis;

describe("openNodeDatagram", { timeout: 30_000 }, () => {
  for (const address of ["127.0.0.1", "::1"]) {
    it(`sends to and hears from ${address}, with the sender's address and port`, async () => {
      const server = await echoServer(address);
      const socket = await openNodeDatagram(address, server.port);
      try {
        await socket.send(new TextEncoder().encode("hi"));
        const reader = socket.readable.getReader();
        const got = await withTimeout(reader.read(), 5000);
        assert.notEqual(got, "timeout");
        const d = (got as ReadableStreamReadResult<Datagram>).value!;
        assert.equal(new TextDecoder().decode(d.data), "echo:hi");
        assert.equal(d.address, address);
        assert.equal(d.port, server.port);
        reader.releaseLock();
      } finally {
        socket.close();
        await server.close();
      }
    });
  }

  it("each socket gets its own ephemeral port", async () => {
    const server = await echoServer("127.0.0.1");
    const sockets = await Promise.all([1, 2, 3].map(() => openNodeDatagram("127.0.0.1", server.port)));
    try {
      for (const s of sockets) await s.send(new Uint8Array([1]));
      for (const s of sockets) {
        const reader = s.readable.getReader();
        assert.notEqual(await withTimeout(reader.read(), 5000), "timeout");
        reader.releaseLock();
      }
      assert.equal(new Set(server.seen.map((s) => s.port)).size, 3);
    } finally {
      for (const s of sockets) s.close();
      await server.close();
    }
  });

  it(isDeno ? "a closed port is silence (Deno's node:dgram reports no ICMP error)" : "a closed port errors the readable with ECONNREFUSED", async () => {
    const socket = await openNodeDatagram("127.0.0.1", await closedUdpPort());
    try {
      await socket.send(new Uint8Array([1, 2, 3]));
      const reader = socket.readable.getReader();
      const got = await withTimeout(reader.read().then(() => "read", (e: unknown) => (e as { code?: string }).code ?? String(e)), 1000);
      assert.equal(got, isDeno ? "timeout" : "ECONNREFUSED");
      reader.releaseLock();
    } finally {
      socket.close();
    }
  });

  it("close ends the readable, is idempotent, and a send after it rejects", async () => {
    const server = await echoServer("127.0.0.1");
    const socket = await openNodeDatagram("127.0.0.1", server.port);
    const reader = socket.readable.getReader();
    socket.close();
    socket.close();
    assert.deepEqual(await reader.read(), { done: true, value: undefined });
    await assert.rejects(socket.send(new Uint8Array([1])), /closed/);
    await server.close();
  });

  it("keeps at most its queue of unread datagrams; the rest are dropped", async () => {
    const server = await echoServer("127.0.0.1");
    const socket = await openNodeDatagram("127.0.0.1", server.port);
    try {
      for (let i = 0; i < 200; i++) await socket.send(new Uint8Array([i]));
      await new Promise((r) => setTimeout(r, 300));
      const reader = socket.readable.getReader();
      let count = 0;
      while ((await withTimeout(reader.read(), 200)) !== "timeout") count++;
      assert.ok(count > 0 && count <= 64, `queued ${count}`);
      reader.releaseLock();
    } finally {
      socket.close();
      await server.close();
    }
  });
});
