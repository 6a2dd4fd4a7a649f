import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ExchangeMeter } from "../../src/flows/exchange-meter.ts";

describe("ExchangeMeter", () => {
  it("adds the exchange in progress to those that ended; a failed attempt counts nothing", () => {
    const m = new ExchangeMeter();
    assert.deepEqual(m.read(), { bytesUp: 0, bytesDown: 0 });
    const live = { bytesUp: 10, bytesDown: 0 };
    m.began(() => live);
    assert.deepEqual(m.read(), { bytesUp: 10, bytesDown: 0 });
    live.bytesDown = 300;
    assert.deepEqual(m.read(), { bytesUp: 10, bytesDown: 300 }, "read as it moves, not copied at the start");
    m.ended({ bytesUp: 10, bytesDown: 400 });
    assert.deepEqual(m.read(), { bytesUp: 10, bytesDown: 400 }, "what the exchange counts for, not its last reading");
    m.began(() => ({ bytesUp: 50, bytesDown: 0 }));
    assert.deepEqual(m.read(), { bytesUp: 60, bytesDown: 400 });
    m.ended(); // lost before any answer: retried or answered with an error page
    assert.deepEqual(m.read(), { bytesUp: 10, bytesDown: 400 });
  });
});
