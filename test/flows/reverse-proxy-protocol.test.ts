import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { memoryConnPair } from "../../src/core/memory-conn.ts";
import { RelayedConn } from "../../src/core/relayed-conn.ts";
import { handleReverse } from "../../src/flows/reverse.ts";
import { type ProxyHeader, ProxyHeaderReader } from "../../src/protocol/proxy-header.ts";
import { CertificateStore } from "../../src/reverse/cert-store.ts";
import { okResponse, Peer, readResponse, within, withHarness } from "../helpers/flow-harness.ts";
import { answerEach, route, state } from "../helpers/reverse-harness.ts";

const CURL = new Uint8Array(readFileSync(new URL("../fixtures/client-hello/curl-openssl.bin", import.meta.url)));
const store = () =>
  new CertificateStore([{ chainPem: "CHAIN example", keyPem: "KEY example", names: ["example.com"], source: "example.pem", notAfter: new Date(0) }], 0, "default");

async function readProxyHeader(o: Peer): Promise<ProxyHeader> {
  const reader = new ProxyHeaderReader();
  for (;;) {
    const header = reader.push(await o.readBytes(1));
    if (header) return header;
  }
}

describe("reverse HTTPS listener behind a load balancer: PROXY headers to backends", () => {
  it("name the client and the address it reached, as the balancer's header named them (as passthrough does)", async () => {
    await withHarness({ interception: {} }, async (h) => {
      const headers: ProxyHeader[] = [];
      h.origin("10.0.0.1", 80, async (o) => {
        headers.push(await readProxyHeader(o));
        await answerEach(o, () => okResponse("ok"), []);
      });
      const [proxySide, clientSide] = memoryConnPair({ remote: { address: "10.1.0.5", port: 40001 }, local: { address: "10.1.0.9", port: 8443 } });
      const relayed = new RelayedConn(proxySide, { address: "198.51.100.7", port: 4444 }, undefined, { address: "203.0.113.10", port: 443 });
      const s = state([route("r", ["*"], "P")], { P: { backends: ["http://10.0.0.1"], proxyProtocol: "v1" } }, [], { store: store() });
      const done = handleReverse(relayed, { ...h.ctx, mode: "reverse", listenerName: "web" }, () => s);
      const c = new Peer(clientSide);
      await c.write(CURL);
      await c.write("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
      const res = await readResponse(c);
      assert.equal(res.head.status, 200, res.body);
      await c.end();
      await c.readToEndOrReset();
      await within(done, 3000);
      assert.deepEqual(headers[0]?.source, { address: "198.51.100.7", port: 4444 });
      assert.deepEqual(headers[0]?.destination, { address: "203.0.113.10", port: 443 }, "destination named by the balancer");
    });
  });
});
