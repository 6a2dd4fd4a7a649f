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

/** How long after a failure lines are dropped before the file is opened again. */
export const LOG_RETRY_MS = 1000;

/**
 * Opens `path` for appending; errors go to `onError`. A file that cannot be opened or
 * written (its directory not there yet, a full disk) is opened again on the first line
 * after {@link LOG_RETRY_MS} (a monotonic clock: a wall clock stepped back would hold it):
 * the lines in between, and those the failed file did not take, are dropped and counted
 * in the message of the retry, so a passing failure costs those lines, not the rest of the log.
 */
export function openLogFile(path: string, onError: (message: string) => void, now: () => number = () => performance.now()): LogFile {
  let out: WriteStream | undefined;
  let failedAt = 0;
  let dropped = 0;
  const open = (): WriteStream => {
    const stream = createWriteStream(path, { flags: "a" });
    stream.on("error", (e) => {
      if (out !== stream) return; // an old file's late error
      out = undefined;
      failedAt = now();
      onError(`${e.message}; lines are dropped, and the file opened again ${LOG_RETRY_MS / 1000} s from now at the next line`);
    });
    return stream;
  };
  /** A line the file did not take (written while it was being opened, or in flight). */
  const countFailure = (e?: Error | null) => {
    if (e) dropped++;
  };
  out = open();
  let closed = false;
  return {
    write: (line) => {
      if (closed) return;
      if (!out) {
        if (now() - failedAt < LOG_RETRY_MS) {
          dropped++;
          return;
        }
        if (dropped > 0) onError(`${dropped} line${dropped === 1 ? "" : "s"} dropped since the file failed; opening it again`);
        dropped = 0;
        out = open();
      }
      out.write(line, countFailure);
    },
    reopen() {
      if (closed) return;
      const old = out;
      out = open();
      old?.end();
    },
    close() {
      closed = true;
      out?.end();
    },
  };
}
