import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { flushingCount, HopListener, settleFlushes, splice } from "../../../src/runtime/deno/loopback-hop.ts";
import { runtimeName } from "../../helpers/runtime.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const text = (s: string) => new TextEncoder().encode(s);

async function readAll(conn: Deno.Conn): Promise<string> {
  const chunks: string[] = [];
  const buf = new Uint8Array(4096);
  const decoder = new TextDecoder();
  for (;;) {
    const n = await conn.read(buf).catch(() => null);
    if (n === null) return chunks.join("");
    chunks.push(decoder.decode(buf.subarray(0, n)));
  }
}

/** Whether `conn` sees the end of the stream (FIN or reset) within `ms`. */
async function endsWithin(conn: Deno.Conn, ms: number): Promise<boolean> {
  const buf = new Uint8Array(16);
  const timeout = sleep(ms).then(() => "timeout" as const);
  for (;;) {
    const r = await Promise.race([conn.read(buf).catch(() => null), timeout]);
    if (r === "timeout") return false;
    if (r === null) return true;
  }
}

describe("Deno loopback hop (loopback-hop.ts)", { skip: runtimeName === "deno" ? undefined : "Deno only", timeout: 30_000 }, () => {
  it("gives each dialler the end accepted for it, also when many dial at once", async () => {
    const hops = new HopListener(Deno.listen({ hostname: "127.0.0.1", port: 0 }));
    try {
      const made = await Promise.all(Array.from({ length: 20 }, () => hops.dial()));
      await Promise.all(made.map(async (hop, i) => {
        const far = await hop.accepted;
        await far.write(text(`you are ${i}`));
        await far.closeWrite();
        assert.equal(await readAll(hop.dialled), `you are ${i}`);
        far.close();
        hop.dialled.close();
      }));
    } finally {
      hops.close();
    }
  });

  it("closes a conn no dialler of this process claims, and one whose dialler gave up", async () => {
    const hops = new HopListener(Deno.listen({ hostname: "127.0.0.1", port: 0 }), 200);
    try {
      // another local process's connection (not made through dial)
      const stray = await Deno.connect({ hostname: "127.0.0.1", port: hops.port });
      assert.equal(await endsWithin(stray, 3_000), true, "a stray conn is closed");
      stray.close();
      // a dialler that forgets its claim: the accepted end is closed, whenever it arrives
      const hop = await hops.dial();
      hop.forget();
      assert.equal(await endsWithin(hop.dialled, 3_000), true, "a forgotten end is closed");
      hop.dialled.close();
    } finally {
      hops.close();
    }
  });

  it("a stray reconnecting from one port over and over holds one descriptor at most, and none after the wait", async () => {
    const hops = new HopListener(Deno.listen({ hostname: "127.0.0.1", port: 0 }), 500);
    const fds = () => readdirSync("/proc/self/fd").length;
    try {
      const before = fds();
      // another process: connects from one local port, resets (no TIME_WAIT), again, 20 times
      const script = `
        const net = require("node:net");
        const once = (port) => new Promise((resolve, reject) => {
          const s = net.connect({ host: "127.0.0.1", port: ${hops.port}, localAddress: "127.0.0.1", localPort: port });
          s.on("connect", () => { const p = s.localPort; setTimeout(() => { s.resetAndDestroy(); resolve(p); }, 20); });
          s.on("error", reject);
        });
        (async () => { let port = 0; for (let i = 0; i < 20; i++) port = await once(port); console.log("done"); })()
          .catch((e) => { console.error(e.message); process.exit(1); });`;
      const out = new TextDecoder().decode((await new Deno.Command("node", { args: ["-e", script], stdout: "piped" }).output()).stdout);
      assert.match(out, /done/);
      assert.ok(fds() <= before + 1, `held ${fds() - before} descriptors for one port's strays`);
      let now = fds();
      for (let i = 0; i < 30 && now > before; i++) {
        await sleep(100);
        now = fds();
      }
      assert.equal(now, before, "the last stray is closed after the wait");
    } finally {
      hops.close();
    }
  });

  it("splice relays both ways and passes each half-close on, then closes both", async () => {
    const hops = new HopListener(Deno.listen({ hostname: "127.0.0.1", port: 0 }));
    try {
      const left = await hops.dial();
      const right = await hops.dial();
      splice(await left.accepted, await right.accepted);
      // left → right, then left's FIN; right still answers after it
      await left.dialled.write(text("ping"));
      await left.dialled.closeWrite();
      const buf = new Uint8Array(16);
      let got = "";
      while (got.length < 4) got += new TextDecoder().decode(buf.subarray(0, (await right.dialled.read(buf))!));
      assert.equal(got, "ping");
      assert.equal(await right.dialled.read(buf), null, "the half-close came through");
      await right.dialled.write(text("pong after FIN"));
      await right.dialled.closeWrite();
      assert.equal(await readAll(left.dialled), "pong after FIN");
      left.dialled.close();
      right.dialled.close();
    } finally {
      hops.close();
    }
  });

  it("flush: a slow reader gets every byte however long it takes; one that stops reading is cut off", async () => {
    const hops = new HopListener(Deno.listen({ hostname: "127.0.0.1", port: 0 }));
    try {
      for (const reader of ["slow", "stuck"] as const) {
        const client = await hops.dial();
        const tlsSide = await hops.dial();
        const relay = splice(await client.accepted, await tlsSide.accepted, 200);
        // the TLS side writes what the sockets between take (more than they hold at once
        // for the slow reader) and closes: the relay is told to flush
        let written = 0;
        const chunk = new Uint8Array(64 * 1024).fill(1);
        const writing = (async () => {
          for (; written < (reader === "slow" ? 16 << 20 : 64 << 20); ) written += await tlsSide.dialled.write(chunk);
        })().catch(() => {});
        if (reader === "slow") {
          // the reader starts, slowly, and the writer finishes meanwhile
          void writing.then(() => (tlsSide.dialled.close(), relay.flush()));
        } else {
          await sleep(300);
          tlsSide.dialled.close();
          relay.flush();
          await sleep(1_000); // five flush periods without reading
        }
        let got = 0;
        const buf = new Uint8Array(256 * 1024);
        for (;;) {
          const n = await client.dialled.read(buf).catch(() => null);
          if (n === null) break;
          got += n;
          if (reader === "slow") await sleep(20); // ~10 MB/s, >1 s in all: many flush periods
        }
        client.dialled.close();
        if (reader === "slow") assert.equal(got, written, "every byte written");
        else assert.ok(got < written, `a reader that stopped got ${got} of the ${written} bytes written, then the end`);
      }
    } finally {
      hops.close();
    }
  });

  it("settleFlushes (a shutdown) waits until flushing splices have passed everything on, and ends the ones still at it when time is up", async () => {
    const hops = new HopListener(Deno.listen({ hostname: "127.0.0.1", port: 0 }));
    try {
      for (const reader of ["slow", "stuck"] as const) {
        const client = await hops.dial();
        const tlsSide = await hops.dial();
        const relay = splice(await client.accepted, await tlsSide.accepted);
        let written = 0;
        const chunk = new Uint8Array(64 * 1024).fill(1);
        // what the sockets between take without a reader: several MiB
        const writing = (async () => {
          for (;;) {
            const n = await Promise.race([tlsSide.dialled.write(chunk), sleep(300).then(() => null)]);
            if (n === null) return;
            written += n;
          }
        })();
        await writing;
        tlsSide.dialled.close();
        relay.flush();
        assert.equal(flushingCount(), 1);
        const started = Date.now();
        let got = 0;
        let gotBySettle = -1;
        const settled = settleFlushes(started + (reader === "slow" ? 20_000 : 300)).then(() => {
          gotBySettle = got;
          return Date.now();
        });
        if (reader === "stuck") await settled;
        const buf = new Uint8Array(64 * 1024);
        for (;;) {
          const n = await client.dialled.read(buf).catch(() => null);
          if (n === null) break;
          got += n;
          if (reader === "slow") await sleep(5); // a few hundred ms in all
        }
        client.dialled.close();
        const settledAt = await settled;
        assert.equal(flushingCount(), 0);
        if (reader === "slow") {
          assert.equal(got, written, "every byte written");
          // done once the relay has written the last bytes to the reader's socket: the reader
          // had to take most of them first
          assert.ok(gotBySettle > 0, "waited for the reader");
        } else {
          assert.ok(settledAt - started < 2_000, "gave up at its time");
          assert.ok(got < written, `the stuck reader got ${got} of ${written} bytes, then the end`);
        }
      }
    } finally {
      hops.close();
    }
  });

  it("a close on one side ends the other", async () => {
    const hops = new HopListener(Deno.listen({ hostname: "127.0.0.1", port: 0 }));
    try {
      const left = await hops.dial();
      const right = await hops.dial();
      const a = await left.accepted;
      splice(a, await right.accepted);
      a.close(); // the gateway tears its end down (an abort)
      assert.equal(await endsWithin(right.dialled, 3_000), true);
      left.dialled.close();
      right.dialled.close();
    } finally {
      hops.close();
    }
  });
});
