/**
 * Wording shared by the command-line commands, and reading the file a command was given.
 * @module
 */

/** An error as one line for the terminal: its message, with its code (ENOENT…) when the message lacks it. */
export function errorText(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return typeof code === "string" && !e.message.includes(code) ? `${e.message} (${code})` : e.message;
  }
  return String(e);
}

/** `3 rules`, `1 rule`. */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/**
 * The text of `file`, the file a command was given; undefined after saying on `stderr` why
 * it cannot be read.
 */
export function readOrSay(file: string, io: { readText(path: string): string; stderr(text: string): void }): string | undefined {
  try {
    return io.readText(file);
  } catch (e) {
    io.stderr(`tollgate: cannot read ${JSON.stringify(file)}: ${errorText(e)}\n`);
    return undefined;
  }
}
