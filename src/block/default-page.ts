/**
 * The block page shown when the config names no template of its own: self-contained (no
 * external resources, no script), readable on a phone, and saying what a help desk needs
 * (address, rule, time, client).
 */
export const DEFAULT_BLOCK_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>Blocked: {{host}}</title>
<style>
body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #1f2328; background: #f6f8fa; }
main { max-width: 40rem; margin: 10vh auto; padding: 2rem; background: #fff; border: 1px solid #d0d7de; border-radius: 8px; }
h1 { font-size: 1.4rem; margin: 0 0 1rem; color: #cf222e; }
p.message { white-space: pre-line; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; font-size: .9rem; color: #57606a; margin: 1.5rem 0 0; }
dt { font-weight: 600; }
dd { margin: 0; overflow-wrap: anywhere; }
</style>
</head>
<body>
<main>
<h1>Access to {{host}} is blocked</h1>
<p class="message">{{message}}</p>
<dl>
<dt>Address</dt><dd>{{url}}</dd>
<dt>Rule</dt><dd>{{rule}}</dd>
<dt>Reason</dt><dd>{{reason}}</dd>
<dt>Your address</dt><dd>{{client}}</dd>
<dt>Time</dt><dd>{{time}}</dd>
</dl>
</main>
</body>
</html>
`;
