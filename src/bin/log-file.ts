/**
 * An append-only log file that can be reopened, for log rotation: `logrotate` renames the
 * file and signals the gateway (SIGHUP), which then writes to a new file at the same path.
 * Entry-point code: it may use `node:` APIs that Bun and Deno both provide.
 */
import { createWriteStream, type WriteStream } from "node:fs";

export interface LogFile {
  write(line: string): void;
  /** Finishes the current file (lines already written go to it) and opens `path` again. */
  reopen(): void;
  /** Finishes the file (lines already written go to it); later writes are dropped. */
  close(): void;
}

/** Opens `path` for appending; write errors go to `onError` (the file stays the target). */
export function openLogFile(path: string, onError: (message: string) => void): LogFile {
  const open = (): WriteStream => {
    const out = createWriteStream(path, { flags: "a" });
    out.on("error", (e) => onError(e.message));
    return out;
  };
  let out = open();
  let closed = false;
  return {
    write: (line) => {
      if (!closed) out.write(line);
    },
    reopen() {
      if (closed) return;
      const old = out;
      out = open();
      old.end();
    },
    close() {
      closed = true;
      out.end();
    },
  };
}
