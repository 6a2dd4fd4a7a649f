import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { RESERVE_MS, serveHttpDeno } from "../../../src/runtime/deno/serve-http.ts";
import { runtimeName } from "../../helpers/runtime.ts";

/** A stand-in for `Deno.serve`: each call is recorded and gives a server whose `finished` the test ends. */
function fakeServe() {
  const calls: { port: number; fail: (e: Error) => void; shutdowns: number }[] = [];
  const serve = ((options: Deno.ServeTcpOptions, _handler: unknown) => {
    let fail!: (e: Error) => void;
    const finished = new Promise<void>((_, reject) => (fail = reject));
    const call = { port: options.port ?? 0, fail, shutdowns: 0 };
    calls.push(call);
    queueMicrotask(() => options.onListen?.({ hostname: "127.0.0.1", port: call.port === 0 ? 40404 : call.port, transport: "tcp" } as Deno.NetAddr));
    return { finished, shutdown: () => (call.shutdowns++, Promise.resolve()) } as unknown as Deno.HttpServer;
  }) as unknown as typeof Deno.serve;
  return { serve, calls };
}

describe("Deno admin HTTP listener (serve-http.ts)", { skip: runtimeName === "deno" ? undefined : "Deno only" }, () => {
  it("serves requests on a real listener, and closes", async () => {
    const listener = await serveHttpDeno({ hostname: "127.0.0.1", port: 0 }, () => new Response("ok"));
    const res = await fetch(`http://127.0.0.1:${listener.address.port}/`);
    assert.equal(await res.text(), "ok");
    await listener.close();
  });

  it("a server that stops accepting (out of descriptors) is logged and bound again on its port, not an unhandled rejection", async () => {
    const { serve, calls } = fakeServe();
    const log: string[] = [];
    const listener = await serveHttpDeno({ hostname: "127.0.0.1", port: 0 }, () => new Response("ok"), (l) => log.push(l), serve);
    assert.equal(listener.address.port, 40404);
    calls[0]!.fail(new Error("Too many open files (os error 24)"));
    await new Promise((r) => setTimeout(r, RESERVE_MS + 200));
    assert.equal(calls.length, 2, "bound again");
    assert.equal(calls[1]!.port, 40404, "on the port it had, not a new one");
    assert.equal(calls[0]!.shutdowns, 1);
    assert.match(log[0] ?? "", /admin API stopped accepting \(Too many open files \(os error 24\)\); listening again in 1000 ms/);
    await listener.close();
    calls[1]!.fail(new Error("after close"));
    await new Promise((r) => setTimeout(r, RESERVE_MS + 200));
    assert.equal(calls.length, 2, "nothing bound after close");
  });
});
