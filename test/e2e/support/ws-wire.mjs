// WebSocket wire format for the test clients and origin (RFC 6455), Node only: the upgrade
// request and its 101, client (masked) frames, and frame parsing. Payloads up to 65,535 bytes.
import { randomBytes } from "node:crypto";

/** The upgrade request for `target` (origin-form or absolute-form) on `host` ("name:port"). */
export function upgradeRequest(target, host) {
  return `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\nSec-WebSocket-Version: 13\r\n\r\n`;
}

/**
 * The bytes after a complete 101 response at the start of `buf`, or undefined while the head
 * is incomplete; calls `fail` with the status line when the answer is not a 101.
 */
export function afterUpgrade(buf, fail) {
  const end = buf.indexOf("\r\n\r\n");
  if (end < 0) return undefined;
  const status = buf.subarray(0, end).toString("latin1").split("\r\n")[0];
  if (!/ 101 /.test(status)) return fail(`no upgrade: ${status}`);
  return buf.subarray(end + 4);
}

/** One final frame of opcode `op` (1 text, 2 binary, 8 close) with `payload` (a Buffer). */
export function frame(op, payload, { masked = true } = {}) {
  const len = payload.length;
  const head = len < 126 ? Buffer.from([0x80 | op, len]) : Buffer.from([0x80 | op, 126, len >> 8, len & 0xff]);
  if (!masked) return Buffer.concat([head, payload]);
  head[1] |= 0x80;
  const mask = randomBytes(4);
  return Buffer.concat([head, mask, Buffer.from(payload.map((b, i) => b ^ mask[i & 3]))]);
}

/** The first whole frame in `buf` as {op, payload (unmasked), rest}, or undefined. */
export function readFrame(buf) {
  if (buf.length < 2) return undefined;
  const op = buf[0] & 0x0f;
  let len = buf[1] & 0x7f;
  let off = 2;
  if (len === 126) {
    if (buf.length < 4) return undefined;
    len = buf.readUInt16BE(2);
    off = 4;
  }
  const masked = (buf[1] & 0x80) !== 0;
  if (buf.length < off + (masked ? 4 : 0) + len) return undefined;
  const mask = masked ? buf.subarray(off, off + 4) : null;
  off += masked ? 4 : 0;
  const payload = Buffer.from(buf.subarray(off, off + len));
  if (mask) for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i & 3];
  return { op, payload, rest: buf.subarray(off + len) };
}

/**
 * Drives the client side of `socket` after `upgradeRequest` was sent: buffers its bytes,
 * checks the 101 (else `fail`), then calls `onOpen()` once and `onFrame(frame)` for every
 * whole frame the server sends.
 */
export function onWebSocket(socket, { fail, onOpen, onFrame }) {
  let buf = Buffer.alloc(0);
  let open = false;
  socket.on("data", (d) => {
    buf = Buffer.concat([buf, d]);
    if (!open) {
      const rest = afterUpgrade(buf, fail);
      if (!rest) return;
      open = true;
      buf = rest;
      onOpen();
    }
    for (let f = readFrame(buf); f; f = readFrame(buf)) {
      buf = f.rest;
      onFrame(f);
    }
  });
}
