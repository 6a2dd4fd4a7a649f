// A DNS server for scripts/bench/dns.ts, in its own Node process: UDP and TCP on one port of
// 127.0.0.1, every name has one A (192.0.2.1) and one AAAA (2001:db8::1), TTL 60.
// Prints the port on stdout, exits when stdin closes.
import dgram from "node:dgram";
import net from "node:net";

function answer(query) {
  let at = 12;
  while (query[at] !== 0) at += 1 + query[at];
  const qEnd = at + 5;
  const type = query.readUInt16BE(at + 1);
  const rdata = type === 1 ? Buffer.from([192, 0, 2, 1]) : Buffer.from("20010db8000000000000000000000001", "hex");
  const header = Buffer.from(query.subarray(0, 12));
  header.writeUInt16BE(0x8180, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(1, 6);
  header.writeUInt16BE(0, 8);
  header.writeUInt16BE(0, 10);
  const record = Buffer.alloc(12);
  record.writeUInt16BE(0xc00c, 0);
  record.writeUInt16BE(type, 2);
  record.writeUInt16BE(1, 4);
  record.writeUInt32BE(60, 6);
  record.writeUInt16BE(rdata.length, 10);
  return Buffer.concat([header, query.subarray(12, qEnd), record, rdata]);
}

const tcp = net.createServer((socket) => {
  let buffered = Buffer.alloc(0);
  socket.on("data", (chunk) => {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
      const reply = answer(buffered.subarray(2, 2 + buffered.readUInt16BE(0)));
      buffered = buffered.subarray(2 + buffered.readUInt16BE(0));
      const len = Buffer.alloc(2);
      len.writeUInt16BE(reply.length);
      socket.write(Buffer.concat([len, reply]));
    }
  });
  socket.on("error", () => {});
});
await new Promise((resolve) => tcp.listen(0, "127.0.0.1", resolve));
const port = tcp.address().port;
const udp = dgram.createSocket("udp4");
udp.on("message", (msg, rinfo) => udp.send(answer(msg), rinfo.port, rinfo.address));
await new Promise((resolve) => udp.bind(port, "127.0.0.1", resolve));
process.stdout.write(`${port}\n`);
process.stdin.on("data", () => {});
process.stdin.on("end", () => process.exit(0));
