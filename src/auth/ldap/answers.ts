/**
 * The answers on one LDAP connection, in order: bytes gathered until a reader (sans-IO, from
 * the `*-message.ts` modules) finds a whole message.
 * @module
 */

/** The directory's answers in order, read from one connection. */
export class LdapAnswers {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  /** Bytes read and not yet taken: `#buf[#start, #end)`. */
  #buf: Uint8Array = new Uint8Array(0);
  #start = 0;
  #end = 0;

  constructor(reader: ReadableStreamDefaultReader<Uint8Array>) {
    this.#reader = reader;
  }

  /**
   * The next answer `parse` reads, as `pick` takes it (the readers bound a message's size,
   * so what is gathered is bounded too). The bytes `parse` sees are reused afterwards: it
   * and `pick` must not keep views of them (the readers decode to strings).
   * @throws {Error} when the connection ends first, or what `parse` throws
   */
  async next<P extends { readonly size: number }, T>(parse: (bytes: Uint8Array) => P | "incomplete", pick: (parsed: P) => T): Promise<T> {
    for (;;) {
      const parsed = parse(this.#buf.subarray(this.#start, this.#end));
      if (parsed !== "incomplete") {
        this.#start += parsed.size;
        return pick(parsed);
      }
      const { value, done } = await this.#reader.read();
      if (done) throw new Error("the directory closed the connection without an answer");
      this.#append(value);
    }
  }

  /** Appends `bytes`, growing the buffer by doubling (a message trickled in is not copied per chunk). */
  #append(bytes: Uint8Array): void {
    const held = this.#end - this.#start;
    if (this.#end + bytes.length > this.#buf.length) {
      const need = held + bytes.length;
      if (need > this.#buf.length) {
        const next = new Uint8Array(Math.max(4096, 2 * need));
        next.set(this.#buf.subarray(this.#start, this.#end));
        this.#buf = next;
      } else {
        this.#buf.copyWithin(0, this.#start, this.#end);
      }
      this.#start = 0;
      this.#end = held;
    }
    this.#buf.set(bytes, this.#end);
    this.#end += bytes.length;
  }

  cancel(): void {
    this.#reader.cancel().catch(() => {});
  }
}
