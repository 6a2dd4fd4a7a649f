import { execFile } from "node:child_process";

export interface CurlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the real curl (never through a shell); resolves even when curl fails. */
export function curl(args: string[], timeoutMs = 60_000): Promise<CurlResult> {
  return new Promise((resolve) => {
    execFile("curl", ["--silent", "--show-error", "--noproxy", "", ...args], { timeout: timeoutMs, maxBuffer: 64 << 20, env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}
