import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { connectionOptions, HOP_BY_HOP_FIELDS, keepAlive, stripHopByHop } from "../../src/protocol/hop-by-hop.ts";
import { HeaderList } from "../../src/protocol/http-headers.ts";

describe("stripHopByHop", () => {
  it("removes the fixed hop-by-hop fields in any case", () => {
    const h = new HeaderList([
      ["Host", "example.com"],
      ["CONNECTION", "keep-alive"],
      ["Keep-Alive", "timeout=5"],
      ["Proxy-Connection", "keep-alive"],
      ["TE", "trailers"],
      ["Trailer", "X-Sum"],
      ["transfer-encoding", "chunked"],
      ["Upgrade", "websocket"],
      ["Proxy-Authorization", "Basic Zm9vOmJhcg=="],
      ["Proxy-Authenticate", "Basic"],
      ["Accept", "*/*"],
    ]);
    assert.deepEqual([...stripHopByHop(h)], [["Host", "example.com"], ["Accept", "*/*"]]);
    assert.equal(h.size, 11, "input unchanged");
    assert.equal(HOP_BY_HOP_FIELDS.size, 9);
  });
  it("removes fields named in Connection, case-insensitively, across several Connection lines", () => {
    const h = new HeaderList([
      ["Connection", "X-Secret , close"],
      ["connection", "x-other,,"],
      ["x-secret", "1"],
      ["X-OTHER", "2"],
      ["X-Kept", "3"],
    ]);
    assert.deepEqual([...stripHopByHop(h)], [["X-Kept", "3"]]);
  });
  it("never lets Connection remove Host or Content-Length", () => {
    const h = new HeaderList([["Connection", "Host, Content-Length, Cookie"], ["Host", "a"], ["Content-Length", "5"], ["Cookie", "c=1"]]);
    assert.deepEqual([...stripHopByHop(h)], [["Host", "a"], ["Content-Length", "5"]]);
  });
});

describe("connectionOptions", () => {
  it("collects lowercase tokens and skips junk", () => {
    assert.deepEqual(connectionOptions(new HeaderList([["Connection", "Keep-Alive, Upgrade"], ["Connection", " , bad token, X"]])), new Set(["keep-alive", "upgrade", "x"]));
    assert.deepEqual(connectionOptions(new HeaderList()), new Set());
  });
});

describe("keepAlive", () => {
  const h = (...values: string[]) => new HeaderList(values.map((v): [string, string] => ["Connection", v]));
  it("HTTP/1.1 persists unless close", () => {
    assert.equal(keepAlive("HTTP/1.1", h()), true);
    assert.equal(keepAlive("HTTP/1.1", h("keep-alive")), true);
    assert.equal(keepAlive("HTTP/1.1", h("Close")), false);
    assert.equal(keepAlive("HTTP/1.1", h("upgrade, CLOSE")), false);
    assert.equal(keepAlive("HTTP/1.1", h("upgrade", "close")), false);
  });
  it("HTTP/1.0 persists only with keep-alive", () => {
    assert.equal(keepAlive("HTTP/1.0", h()), false);
    assert.equal(keepAlive("HTTP/1.0", h("Keep-Alive")), true);
    assert.equal(keepAlive("HTTP/1.0", h("keep-alive, close")), false);
  });
  it("other versions do not persist", () => {
    assert.equal(keepAlive("HTTP/0.9", h("keep-alive")), false);
  });
});
