/**
 * The `GET /ca` page: how to download the interception CA certificate and make clients
 * trust it (curl, the Debian store, NSS/Chromium, Node/Bun/Deno), as the README says.
 *
 * @module
 */
import { decodePem } from "../pki/pem.ts";
import { escapeHtml } from "./html.ts";

/** What the page shows. */
export interface CaPageOptions {
  /** The CA certificate (PEM), or undefined when decryption is not configured. */
  readonly pem: string | undefined;
  /** Origin of the admin API as the client reached it, e.g. `http://127.0.0.1:9090`. */
  readonly origin: string;
  /** Whether `/ca.pem` needs the bearer token (then the download command sends it). */
  readonly tokenRequired: boolean;
  /** CSP nonce for the inline style. */
  readonly nonce: string;
}

/** SHA-256 fingerprint of the first CERTIFICATE block, as `AB:CD:…`, or undefined. */
export async function pemFingerprint(pem: string): Promise<string | undefined> {
  let der: Uint8Array<ArrayBuffer> | undefined;
  try {
    der = decodePem(pem).find((block) => block.label === "CERTIFICATE")?.der;
  } catch {
    return undefined;
  }
  if (der === undefined) return undefined;
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", der));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0").toUpperCase()).join(":");
}

const STYLE = `body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
code,pre{font:13px ui-monospace,monospace;background:#f4f4f4;border-radius:4px}
pre{padding:.6rem .8rem;overflow-x:auto}table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #ddd;padding:.4rem;text-align:left;vertical-align:top}th{width:14rem}`;

/**
 * The page's HTML.
 *
 * @example
 * ```ts
 * const html = await caPage({ pem, origin: "http://127.0.0.1:9090", tokenRequired: true, nonce });
 * ```
 */
export async function caPage(options: CaPageOptions): Promise<string> {
  const head = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Tollgate — trust the interception CA</title><style nonce="${escapeHtml(options.nonce)}">${STYLE}</style></head><body>
<h1>Trust the Tollgate interception CA</h1>`;
  if (options.pem === undefined) {
    return `${head}<p>No interception CA is configured: this gateway decrypts nothing, so clients need not trust anything.
Create one with <code>tollgate ca init</code> and add the <code>"ca"</code> section it prints to the config.</p></body></html>\n`;
  }
  const fingerprint = (await pemFingerprint(options.pem)) ?? "unknown";
  const url = `${options.origin}/ca.pem`;
  const auth = options.tokenRequired ? ` -H "Authorization: Bearer $TOLLGATE_ADMIN_TOKEN"` : "";
  const rows: [string, string][] = [
    ["curl", "curl --cacert tollgate-ca.pem -x http://PROXY:3128 https://…"],
    ["Debian/Ubuntu system store", "sudo cp tollgate-ca.pem /usr/local/share/ca-certificates/tollgate.crt && sudo update-ca-certificates"],
    ["Chromium / NSS (per user)", 'certutil -d sql:$HOME/.pki/nssdb -A -t "C,," -n tollgate -i tollgate-ca.pem   # package libnss3-tools'],
    ["Node.js", "NODE_EXTRA_CA_CERTS=tollgate-ca.pem node app.js"],
    ["Bun", "NODE_EXTRA_CA_CERTS=tollgate-ca.pem bun app.ts"],
    ["Deno", "DENO_CERT=tollgate-ca.pem deno run …"],
  ];
  const table = rows.map(([client, how]) => `<tr><th>${escapeHtml(client)}</th><td><code>${escapeHtml(how)}</code></td></tr>`).join("\n");
  return `${head}
<p>This gateway decrypts some TLS connections. Clients whose traffic it decrypts must trust its CA certificate;
it contains no private key. Check the fingerprint before you install it.</p>
<p>SHA-256 fingerprint: <code id="fingerprint">${escapeHtml(fingerprint)}</code></p>
<h2>1. Download</h2>
<pre>${escapeHtml(`curl -fsS${auth} -o tollgate-ca.pem ${url}`)}</pre>
<p>Compare with <code>openssl x509 -in tollgate-ca.pem -noout -fingerprint -sha256</code>.</p>
<h2>2. Trust it</h2>
<table>
${table}
</table>
<p>Anyone holding the CA's private key can intercept the traffic of every client that trusts it: keep the key on the gateway only.</p>
</body></html>
`;
}
