/**
 * Capture real ClientHellos into test/fixtures/client-hello/ and write, for each, the fields
 * an independent decoder (`openssl s_server -trace`) reads from it.
 *
 * Usage: bun scripts/capture-client-hello.ts [--only name,name]
 *
 * A loopback TCP server records each connection's first bytes until a complete ClientHello
 * (plain record framing, not the project's parser) and closes it. Every client below is run
 * against it; a client that is not installed is skipped and reported. Then each fixture is
 * replayed into `openssl s_server -trace` and the trace is turned into `<name>.json`, so the
 * expected values never come from the code under test. README.md is regenerated.
 * Synthetic fixtures (a real hello re-fragmented into several records) are derived at the end.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const OUT = new URL("../test/fixtures/client-hello/", import.meta.url).pathname;
const BIN = new URL("../node_modules/.bin/", import.meta.url).pathname;
const ALPN = ["h2", "http/1.1"];
/** 7 long protocol names make OpenSSL's hello > 1 KiB, so -max_send_frag 512 fragments it. */
const LONG_ALPN = Array.from({ length: 7 }, (_, i) => `x-capture-${i}-${"p".repeat(90)}`);

interface Client {
  readonly name: string;
  readonly client: string;
  readonly version: string[];
  /** argv; `PORT` is replaced by the capture port. */
  readonly argv: string[];
  readonly sni: string | null;
  readonly note?: string;
}

const javaSource = `import javax.net.ssl.*;
import java.util.List;
public class Hello {
  public static void main(String[] a) throws Exception {
    SSLSocket s = (SSLSocket) SSLSocketFactory.getDefault().createSocket("127.0.0.1", Integer.parseInt(a[0]));
    SSLParameters p = s.getSSLParameters();
    p.setServerNames(List.of(new SNIHostName(a[1])));
    p.setApplicationProtocols(new String[] {"h2", "http/1.1"});
    s.setSSLParameters(p);
    try { s.startHandshake(); } catch (Exception e) { }
  }
}
`;

function clients(tmp: string): Client[] {
  const java = join(tmp, "Hello.java");
  writeFileSync(java, javaSource);
  const node = "tls.connect({host:'127.0.0.1',port:PORT,servername:'example.com',ALPNProtocols:['h2','http/1.1']}).on('error',()=>{})";
  const curl = ["curl", "-s", "-o", "/dev/null", "--max-time", "5", "--resolve", "example.com:PORT:127.0.0.1"];
  const sClient = ["openssl", "s_client", "-connect", "127.0.0.1:PORT"];
  return [
    { name: "curl-openssl", client: "curl", version: ["curl", "--version"], argv: [...curl, "https://example.com:PORT/"], sni: "example.com" },
    { name: "curl-tls12", client: "curl", version: ["curl", "--version"], argv: [...curl, "--tlsv1.2", "--tls-max", "1.2", "https://example.com:PORT/"], sni: "example.com" },
    { name: "openssl-s-client", client: "openssl s_client", version: ["openssl", "version"], argv: [...sClient, "-servername", "example.com", "-alpn", ALPN.join(",")], sni: "example.com" },
    { name: "openssl-noservername", client: "openssl s_client", version: ["openssl", "version"], argv: [...sClient, "-noservername"], sni: null },
    { name: "openssl-tls12", client: "openssl s_client", version: ["openssl", "version"], argv: [...sClient, "-tls1_2", "-servername", "example.com"], sni: "example.com" },
    {
      name: "openssl-fragmented",
      client: "openssl s_client",
      version: ["openssl", "version"],
      argv: [...sClient, "-servername", "www.example.org", "-max_send_frag", "512", "-alpn", LONG_ALPN.join(",")],
      sni: "www.example.org",
      note: "long ALPN list and -max_send_frag 512: a real hello fragmented over 3 records",
    },
    { name: "node-tls", client: "node tls.connect", version: ["node", "--version"], argv: ["node", "-e", `const tls=require('node:tls');${node}`], sni: "example.com" },
    { name: "bun-tls", client: "bun node:tls connect", version: [`${BIN}bun`, "--version"], argv: [`${BIN}bun`, "-e", `import tls from 'node:tls';${node}`], sni: "example.com" },
    {
      name: "bun-fetch",
      client: "bun fetch",
      version: [`${BIN}bun`, "--version"],
      argv: [`${BIN}bun`, "-e", "await fetch('https://localhost:PORT/',{tls:{serverName:'example.com'}}).catch(()=>{})"],
      sni: "example.com",
    },
    {
      name: "deno-fetch",
      client: "deno fetch (rustls)",
      version: [`${BIN}deno`, "--version"],
      argv: [`${BIN}deno`, "eval", "await fetch('https://localhost:PORT/').catch(()=>{})"],
      sni: "localhost",
    },
    {
      name: "deno-connecttls",
      client: "deno Deno.connectTls (rustls)",
      version: [`${BIN}deno`, "--version"],
      argv: [`${BIN}deno`, "eval", "try{const c=await Deno.connectTls({hostname:'localhost',port:PORT,alpnProtocols:['h2','http/1.1']});await c.handshake()}catch{}"],
      sni: "localhost",
    },
    {
      name: "python-ssl",
      client: "python3 ssl",
      version: ["python3", "-c", "import ssl,sys;print(sys.version.split()[0], ssl.OPENSSL_VERSION)"],
      argv: [
        "python3",
        "-c",
        "import socket,ssl\nc=ssl.create_default_context();c.set_alpn_protocols(['h2','http/1.1'])\ns=socket.create_connection(('127.0.0.1',PORT))\ntry: c.wrap_socket(s,server_hostname='example.com')\nexcept Exception: pass",
      ],
      sni: "example.com",
    },
    { name: "java-sslsocket", client: "java SSLSocket", version: ["java", "-version"], argv: ["java", java, "PORT", "example.com"], sni: "example.com" },
    {
      name: "chromium",
      client: "chromium --headless",
      version: ["chromium", "--version"],
      // Never let Chromium touch the network: no background services, every other name
      // unresolvable, a throwaway profile. Only example.com → our loopback capture port.
      argv: [
        "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-default-apps", "--disable-extensions", "--no-pings", "--no-proxy-server",
        `--user-data-dir=${mkdtempSync(join(tmpdir(), "tollgate-chromium-"))}`,
        "--host-resolver-rules=MAP example.com 127.0.0.1:PORT, MAP * ~NOTFOUND",
        "--timeout=5000", "https://example.com/",
      ],
      sni: "example.com",
    },
  ];
}

function versionOf(argv: string[]): string | undefined {
  const [cmd = "", ...args] = argv;
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.error !== undefined || r.status !== 0) return undefined;
  const line = `${r.stdout}${r.stderr}`.trim().split("\n")[0] ?? "";
  // curl's line lists every library: keep the name, the version and the TLS library.
  return line.startsWith("curl ") ? line.split(" ").filter((w, i) => i < 2 || w.startsWith("OpenSSL/")).join(" ") : line;
}

/** True once `b` holds a whole handshake message in handshake records (plain framing). */
function completeHello(b: Uint8Array): number {
  let off = 0;
  const payload: number[] = [];
  while (off + 5 <= b.length) {
    const len = ((b[off + 3] ?? 0) << 8) | (b[off + 4] ?? 0);
    if (b[off] !== 0x16 || off + 5 + len > b.length) return 0;
    payload.push(...b.subarray(off + 5, off + 5 + len));
    off += 5 + len;
    if (payload.length >= 4 && payload.length >= 4 + (((payload[1] ?? 0) << 16) | ((payload[2] ?? 0) << 8) | (payload[3] ?? 0))) return off;
  }
  return 0;
}

async function capture(client: Client): Promise<Uint8Array | undefined> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  const got = new Promise<Uint8Array | undefined>((resolve) => {
    const timer = setTimeout(() => resolve(undefined), 20000);
    server.on("connection", (sock) => {
      let buf = new Uint8Array(0);
      sock.on("error", () => {});
      sock.on("data", (d: Uint8Array) => {
        const next = new Uint8Array(buf.length + d.length);
        next.set(buf);
        next.set(d, buf.length);
        buf = next;
        const end = completeHello(buf);
        if (end > 0) {
          clearTimeout(timer);
          sock.destroy();
          resolve(buf.subarray(0, end));
        }
      });
    });
  });
  const [cmd = "", ...args] = client.argv.map((a) => a.replaceAll("PORT", String(port)));
  const child = spawn(cmd, args, { stdio: ["pipe", "ignore", "ignore"] });
  child.on("error", () => {});
  const bytes = await got;
  child.kill("SIGKILL");
  server.close();
  return bytes;
}

/** Replay `bytes` into `openssl s_server -trace` and return the trace text. */
async function trace(bytes: Uint8Array, tmp: string): Promise<string> {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const args = ["s_server", "-accept", `127.0.0.1:${port}`, "-cert", join(tmp, "c.pem"), "-key", join(tmp, "k.pem"), "-trace", "-naccept", "1"];
  const server = spawn("openssl", args, { stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  server.stdout.on("data", (d: Uint8Array) => (out += new TextDecoder().decode(d)));
  await new Promise((r) => setTimeout(r, 400));
  await new Promise<void>((resolve) => {
    const sock = net.connect(port, "127.0.0.1", () => sock.write(bytes));
    sock.on("data", () => sock.destroy());
    sock.on("close", () => resolve());
    sock.on("error", () => resolve());
    setTimeout(() => sock.destroy(), 1500);
  });
  await new Promise((r) => setTimeout(r, 300));
  server.kill("SIGKILL");
  return out;
}

const isGrease = (v: number): boolean => (v & 0x0f0f) === 0x0a0a && v >> 8 === (v & 0xff);

/** The ClientHello fields, read from an OpenSSL trace. */
function fromTrace(text: string): Record<string, unknown> {
  const lines = text.split("\n");
  const helloAt = lines.findIndex((l) => /^\s*ClientHello, Length=/.test(l));
  if (helloAt < 0) throw new Error(`No ClientHello in trace:\n${text}`);
  const head = lines.slice(0, helloAt);
  const records = head.filter((l) => l.startsWith("Received Record")).length;
  const recordVersion = parseInt(/Version = .*\(0x([0-9a-f]+)\)/.exec(head.join("\n"))?.[1] ?? "", 16);
  const stop = lines.findIndex((l, i) => i > helloAt && /^(Sent|Received) Record/.test(l));
  const body = lines.slice(helloAt, stop < 0 ? undefined : stop);
  const num = (re: RegExp): number => Number(re.exec(body.join("\n"))?.[1]);
  const out: Record<string, unknown> = {
    recordVersion,
    recordCount: records,
    handshakeLength: num(/ClientHello, Length=(\d+)/),
    legacyVersion: Number(/client_version=(0x[0-9a-f]+)/.exec(body.join("\n"))?.[1]),
    sessionIdLength: num(/session_id \(len=(\d+)\)/),
  };
  let section = "";
  const lists: Record<string, number[]> = {
    cipherSuites: [], compressionMethods: [], extensionTypes: [], supportedVersions: [],
    supportedGroups: [], keyShareGroups: [], signatureAlgorithms: [], ecPointFormats: [],
  };
  const alpn: string[] = [];
  const sniBytes: number[] = [];
  const put = (key: string, v: number): void => void lists[key]?.push(v);
  for (const line of body.slice(1)) {
    const ext = /extension_type=.*\((\d+)\), length=\d+/.exec(line);
    if (ext) {
      section = `ext${ext[1]}`;
      put("extensionTypes", Number(ext[1]));
      continue;
    }
    if (/^\s+cipher_suites/.test(line)) section = "cs";
    else if (/^\s+compression_methods/.test(line)) section = "comp";
    else if (/^\s+extensions, length/.test(line)) section = "exts";
    else if (section === "cs") {
      const m = /\{0x([0-9A-F]{2}), 0x([0-9A-F]{2})\}/.exec(line);
      if (m) put("cipherSuites", parseInt(`${m[1]}${m[2]}`, 16));
    } else if (section === "comp") {
      const m = /\(0x([0-9A-F]+)\)/i.exec(line);
      if (m) put("compressionMethods", parseInt(m[1] ?? "", 16));
    } else if (section === "ext0") {
      const m = /^\s+[0-9a-f]{4} - ((?:[0-9a-f]{2}[ -])*[0-9a-f]{2})/.exec(line);
      for (const h of m?.[1]?.split(/[ -]/) ?? []) sniBytes.push(parseInt(h, 16));
    } else if (section === "ext16") {
      if (line.trim() !== "") alpn.push(line.trim());
    } else if (section === "ext43" || section === "ext10" || section === "ext11") {
      const m = /\((\d+)\)\s*$/.exec(line);
      const key = section === "ext43" ? "supportedVersions" : section === "ext10" ? "supportedGroups" : "ecPointFormats";
      if (m) put(key, Number(m[1]));
    } else if (section === "ext13") {
      const m = /\(0x([0-9a-f]{4})\)\s*$/.exec(line);
      if (m) put("signatureAlgorithms", parseInt(m[1] ?? "", 16));
    } else if (section === "ext51") {
      const m = /NamedGroup: .*\((\d+)\)\s*$/.exec(line);
      if (m) put("keyShareGroups", Number(m[1]));
    }
  }
  Object.assign(out, lists);
  out.alpn = alpn;
  out.sni = sniBytes.length > 5 ? String.fromCharCode(...sniBytes.slice(5)).toLowerCase() : null;
  const ext = lists.extensionTypes ?? [];
  out.ech = ext.includes(0xfe0d);
  const grease = new Set<number>();
  for (const key of ["cipherSuites", "extensionTypes", "supportedVersions", "supportedGroups", "keyShareGroups", "signatureAlgorithms"]) {
    for (const v of lists[key] ?? []) if (isGrease(v)) grease.add(v);
  }
  out.greaseValues = [...grease].sort((a, b) => a - b);
  return out;
}

/** Split a single-record hello's handshake message into records of at most `size` bytes. */
function refragment(hello: Uint8Array, sizes: number[]): Uint8Array {
  const version = hello.subarray(1, 3);
  const msg: number[] = [];
  for (let off = 0; off + 5 <= hello.length; ) {
    const len = ((hello[off + 3] ?? 0) << 8) | (hello[off + 4] ?? 0);
    msg.push(...hello.subarray(off + 5, off + 5 + len));
    off += 5 + len;
  }
  const out: number[] = [];
  for (let off = 0, k = 0; off < msg.length; k++) {
    const n = Math.min(sizes[k % sizes.length] ?? 1, msg.length - off);
    out.push(0x16, version[0] ?? 3, version[1] ?? 1, n >> 8, n & 0xff, ...msg.slice(off, off + n));
    off += n;
  }
  return Uint8Array.from(out);
}

async function main(): Promise<void> {
  const only = process.argv.includes("--only") ? (process.argv[process.argv.indexOf("--only") + 1] ?? "").split(",") : undefined;
  const tmp = mkdtempSync(join(tmpdir(), "capture-hello-"));
  spawnSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", join(tmp, "k.pem"), "-out", join(tmp, "c.pem"), "-subj", "/CN=capture", "-days", "2"]);
  const rows: string[] = [];
  const skipped: string[] = [];
  for (const c of clients(tmp)) {
    if (only !== undefined && !only.includes(c.name)) continue;
    const version = versionOf(c.version);
    if (version === undefined) {
      skipped.push(`${c.name} (${c.client}: not installed)`);
      continue;
    }
    const bytes = await capture(c);
    if (bytes === undefined) {
      skipped.push(`${c.name} (${c.client}: no ClientHello within 20 s)`);
      continue;
    }
    const command = c.argv.join(" ").replaceAll(BIN, "node_modules/.bin/").replaceAll(`${tmp}/`, "");
    await store(c.name, bytes, { client: c.client, version, command, synthetic: false, note: c.note ?? null }, c.sni, tmp);
    rows.push(c.name);
  }
  // Synthetic: real hellos cut into many records (handshake header itself split), so the
  // multi-record path is covered by a large post-quantum hello too.
  for (const [src, name, sizes] of [["bun-tls", "synthetic-bun-tls-refragmented", [1, 2, 300, 7]], ["curl-openssl", "synthetic-curl-refragmented", [3, 64]]] as const) {
    const file = join(OUT, `${src}.bin`);
    let real: Uint8Array;
    try {
      real = readFileSync(file);
    } catch {
      continue;
    }
    const meta = JSON.parse(readFileSync(join(OUT, `${src}.json`), "utf8")) as { expected: { sni: string | null } };
    const note = `synthetic: ${src}.bin re-fragmented into records of ${sizes.join(", ")}, … payload bytes (repeating)`;
    await store(name, refragment(real, [...sizes]), { client: "synthetic", version: "-", command: `refragment(${src}.bin, [${sizes.join(", ")}])`, synthetic: true, note }, meta.expected.sni, tmp);
  }
  writeReadme(skipped);
  rmSync(tmp, { recursive: true, force: true });
  console.log(`captured: ${rows.join(", ")}\nskipped: ${skipped.join("; ") || "none"}`);
}

async function store(name: string, bytes: Uint8Array, meta: Record<string, unknown>, sni: string | null, tmp: string): Promise<void> {
  const expected = fromTrace(await trace(bytes, tmp));
  if (expected.sni !== sni) throw new Error(`${name}: trace SNI "${String(expected.sni)}" is not "${String(sni)}"`);
  writeFileSync(join(OUT, `${name}.bin`), bytes);
  const json = JSON.stringify({ ...meta, bytes: bytes.length, expected }, null, 2).replace(/\[\s+([\d,\s]+?)\s+\]/g, (_, xs: string) => `[${xs.split(/,\s*/).join(", ")}]`);
  writeFileSync(join(OUT, `${name}.json`), `${json}\n`);
  console.log(`${name}: ${bytes.length} bytes, ${String(expected.recordCount)} record(s)`);
}

function writeReadme(skipped: string[]): void {
  const rows = readdirSync(OUT)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => {
      const m = JSON.parse(readFileSync(join(OUT, f), "utf8")) as Record<string, unknown> & { expected: Record<string, unknown> };
      const e = m.expected;
      const groups = (e.keyShareGroups as number[]).join(" ");
      return `| \`${f.replace(/\.json$/, ".bin")}\` | ${String(m.bytes)} | ${String(e.recordCount)} | ${String(m.client)} | ${String(m.version)} | \`${String(m.command).replaceAll("|", "\\|").replace(/\n/g, "\\n")}\` | ${groups} |${m.note ? ` ${String(m.note)}` : ""}`;
    });
  const text = `# Captured TLS ClientHellos

Regenerate with \`bun scripts/capture-client-hello.ts\` (\`--only name,name\` for some).
A loopback server records each client's first bytes until one complete ClientHello
(record framing only) and closes the connection; \`PORT\` is its ephemeral port.
Each \`<name>.json\` holds how it was captured and \`expected\`: the fields that
\`openssl s_server -trace\` (OpenSSL 3.0) decodes when the \`.bin\` is replayed to it, so
expectations do not come from the parser under test. \`greaseValues\` there is sorted.
\`Hello.java\` is the Java client whose source is in the capture script.

| fixture | bytes | records | client | version | command | key_share groups | note
| --- | --- | --- | --- | --- | --- | --- | ---
${rows.join("\n")}

Not captured on the last run: ${skipped.join("; ") || "none"}.
Key share group 4588 (0x11ec) is X25519MLKEM768 (post-quantum hybrid).
`;
  writeFileSync(join(OUT, "README.md"), text);
}

await main();
