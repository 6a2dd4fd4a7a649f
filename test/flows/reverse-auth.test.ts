import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { type BasicCredentials, createBasicCredentials } from "../../src/auth/proxy-auth.ts";
import { hashPassword } from "../../src/auth/password-hash.ts";
import { type ParsedHead, readResponse, withHarness } from "../helpers/flow-harness.ts";
import { close, named, open, route, state } from "../helpers/reverse-harness.ts";

const basic = (user: string, password: string) => `Basic ${btoa(`${user}:${password}`)}`;

describe("reverse routes with basicAuth", () => {
  let credentials: BasicCredentials;
  before(async () => {
    const hash = await hashPassword("s3cret", 100_000);
    credentials = createBasicCredentials([{ name: "alice", passwordHash: hash }, { name: "bob", passwordHash: hash }]);
  });
  const routes = () => [
    route("admin", ["app.test"], "app", { pathPrefix: "/admin", basicAuth: { users: ["alice"], realm: "App admin" } }),
    route("public", ["app.test"], "app"),
  ];
  const pools = { app: { backends: ["http://10.0.0.1"] } };

  it("no or wrong credentials: 401 with the route's challenge, logged as a denial; nothing reaches the backend", async () => {
    await withHarness({}, async (h) => {
      const seen: ParsedHead[] = [];
      named(h, "10.0.0.1", 80, "ok", seen);
      for (const auth of ["", `Authorization: ${basic("alice", "wrong")}\r\n`, "Authorization: Bearer abc\r\n"]) {
        const { c, done } = open(h, state(routes(), pools, [], { credentials }));
        await c.write(`GET /admin/x HTTP/1.1\r\nHost: app.test\r\n${auth}\r\n`);
        const res = await readResponse(c);
        assert.equal(res.head.status, 401);
        assert.equal(res.head.get("www-authenticate"), 'Basic realm="App admin", charset="UTF-8"');
        assert.equal(res.body, "A user name and password are needed here\n");
        await close(c, done);
      }
      assert.equal(seen.length, 0);
      assert.deepEqual(h.requestRecords.map((q) => [q.status, q.decision, q.rule, q.reason, q.error]), [
        [401, "deny", "admin", "no Authorization", null],
        [401, "deny", "admin", 'bad credentials for user "alice"', null],
        [401, "deny", "admin", "Authorization is not Basic credentials", null],
      ]);
      assert.ok(h.records.every((r) => r.end === "denied" && r.error === null));
    });
  });

  it("a listed user gets through: the backend sees X-Forwarded-User, never the password or a made-up user", async () => {
    await withHarness({}, async (h) => {
      const seen: ParsedHead[] = [];
      named(h, "10.0.0.1", 80, "ok", seen);
      const { c, done } = open(h, state(routes(), pools, [], { credentials }));
      await c.write(`GET /admin/x HTTP/1.1\r\nHost: app.test\r\nAuthorization: ${basic("alice", "s3cret")}\r\nX-Forwarded-User: root\r\n\r\n`);
      assert.equal((await readResponse(c)).head.status, 200);
      // the same connection: the public route passes the client's fields on untouched
      await c.write(`GET /else HTTP/1.1\r\nHost: app.test\r\nAuthorization: Bearer t0ken\r\n\r\n`);
      assert.equal((await readResponse(c)).head.status, 200);
      await close(c, done);
      assert.equal(seen[0]?.get("authorization"), undefined);
      assert.deepEqual(seen[0]?.all("x-forwarded-user"), ["alice"]);
      assert.equal(seen[1]?.get("authorization"), "Bearer t0ken");
      assert.deepEqual(h.requestRecords.map((q) => [q.rule, q.status, q.user]), [["admin", 200, "alice"], ["public", 200, null]]);
      assert.equal(h.record().user, "alice");
    });
  });

  it("a known user not on the route's list: 403, no challenge", async () => {
    await withHarness({}, async (h) => {
      named(h, "10.0.0.1", 80, "ok");
      const { c, done } = open(h, state(routes(), pools, [], { credentials }));
      await c.write(`GET /admin HTTP/1.1\r\nHost: app.test\r\nAuthorization: ${basic("bob", "s3cret")}\r\n\r\n`);
      const res = await readResponse(c);
      assert.equal(res.head.status, 403);
      assert.equal(res.head.get("www-authenticate"), undefined);
      assert.equal(res.body, 'User "bob" is not allowed here\n', "the route is not named to the client");
      await close(c, done);
      assert.equal(h.requestRecords[0]?.user, "bob");
    });
  });

  it("a route's groups let their members through (local users' groups, any case); others get 403", async () => {
    const hash = await hashPassword("s3cret", 100_000);
    const grouped = createBasicCredentials([{ name: "carol", passwordHash: hash, groups: ["Ops"] }, { name: "bob", passwordHash: hash, groups: ["dev"] }]);
    const byGroup = [route("ops", ["app.test"], "app", { basicAuth: { users: [], groups: ["OPS"], realm: "Ops" } })];
    await withHarness({}, async (h) => {
      named(h, "10.0.0.1", 80, "ok");
      const statuses: number[] = [];
      for (const user of ["carol", "bob"]) {
        const { c, done } = open(h, state(byGroup, pools, [], { credentials: grouped }));
        await c.write(`GET / HTTP/1.1\r\nHost: app.test\r\nAuthorization: ${basic(user, "s3cret")}\r\n\r\n`);
        statuses.push((await readResponse(c)).head.status);
        await close(c, done);
      }
      assert.deepEqual(statuses, [200, 403]);
      assert.deepEqual(h.requestRecords.map((q) => [q.user, q.status]), [["carol", 200], ["bob", 403]]);
    });
  });

  it("failed sign-ins past the limit get 429 with Retry-After, counted per original client", async () => {
    const hash = await hashPassword("s3cret", 100_000);
    const limited = createBasicCredentials([{ name: "alice", passwordHash: hash }], { burst: 1, perMinute: 2 });
    await withHarness({}, async (h) => {
      named(h, "10.0.0.1", 80, "ok");
      const answers: [number, string | undefined][] = [];
      for (const from of ["192.0.2.7", "192.0.2.7", "192.0.2.8"]) {
        const { c, done } = open(h, state(routes(), pools, [], { credentials: limited, trust: ["127.0.0.1"] }));
        await c.write(`GET /admin/x HTTP/1.1\r\nHost: app.test\r\nX-Forwarded-For: ${from}\r\nAuthorization: ${basic("alice", "guess")}\r\n\r\n`);
        const res = await readResponse(c);
        answers.push([res.head.status, res.head.get("retry-after")]);
        await close(c, done);
      }
      assert.deepEqual(answers, [[401, undefined], [429, "30"], [401, undefined]]);
      const q = h.requestRecords[1];
      assert.deepEqual([q?.status, q?.decision, q?.rule, q?.error], [429, "deny", "admin", null]);
      assert.match(q?.reason ?? "", /too many failed sign-ins from 192\.0\.2\.7/);
    });
  });
});
