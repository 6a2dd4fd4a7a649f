/**
 * Reading a policy's host list files (`policy.hostLists`) into {@link HostList}s, at start
 * and on every reload. A file whose text and format did not change since the last load
 * keeps its parsed list (a reload of a million-name list costs a read and a digest, not a
 * parse); a changed one is parsed in slices, with a pause for the event loop between
 * them, so connections are served while a big list is read.
 * @module
 */
import { decodeLatin1 } from "../core/bytes.ts";
import { type HostList, HostListBuilder } from "./host-list.ts";
import type { HostListSource } from "./types.ts";

/** Parsed host lists by name, as `compilePolicy` takes them. */
export type HostLists = ReadonlyMap<string, HostList>;

/** Lines parsed between two pauses. */
const SLICE_LINES = 20_000;

const pause = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

async function digestOf(text: string): Promise<string> {
  return decodeLatin1(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text))));
}

/**
 * Reads and parses every list of `sources` (file paths as the config gives them, read with
 * `readText`); a list of `previous` with the same name, format and text is used again.
 *
 * @throws {Error} naming the list and the file: `policy.hostLists.ads: cannot read "ads.txt": …` or `policy.hostLists.ads: "ads.txt" line 7: expected a host name, …`
 */
export async function loadHostLists(
  sources: Readonly<Record<string, HostListSource>> | undefined,
  readText: (path: string) => string,
  previous?: HostLists,
): Promise<HostLists> {
  const lists = new Map<string, HostList>();
  for (const [name, source] of Object.entries(sources ?? {})) {
    const format = source.format ?? "patterns";
    let text: string;
    try {
      text = readText(source.file);
    } catch (e) {
      throw new Error(`policy.hostLists.${name}: cannot read ${JSON.stringify(source.file)}: ${(e as Error).message}`);
    }
    const digest = await digestOf(text);
    const old = previous?.get(name);
    if (old !== undefined && old.format === format && old.digest === digest) {
      lists.set(name, old);
      continue;
    }
    const builder = new HostListBuilder(name, format);
    try {
      for (let at = builder.add(text, 0, SLICE_LINES); at >= 0; at = builder.add(text, at, SLICE_LINES)) await pause();
    } catch (e) {
      throw new Error(`policy.hostLists.${name}: ${JSON.stringify(source.file)} ${(e as Error).message}`);
    }
    lists.set(name, builder.finish(digest));
  }
  return lists;
}

/**
 * Every list of `sources` that cannot be read or parsed, one message each (as
 * {@link loadHostLists} throws them): what `tollgate config check` lists.
 */
export async function hostListProblems(
  sources: Readonly<Record<string, HostListSource>> | undefined,
  readText: (path: string) => string,
): Promise<string[]> {
  const problems: string[] = [];
  for (const [name, source] of Object.entries(sources ?? {})) {
    try {
      await loadHostLists({ [name]: source }, readText);
    } catch (e) {
      problems.push((e as Error).message);
    }
  }
  return problems;
}
