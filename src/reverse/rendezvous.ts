/**
 * Rendezvous (highest random weight) hashing for `balance: "client-hash"`: every client key
 * ranks every backend by a hash of the pair, and the client goes to the first available one
 * in its ranking. When a backend goes down only its own clients move (each to its next
 * choice), and they come back when it returns; adding a backend takes about 1/n of the
 * clients from the others and moves no one else.
 * @module
 */

/** 32-bit FNV-1a of `text` (UTF-16 code units), then a murmur3 finaliser for avalanche. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * `items` ordered by their weight for `key`, highest first: `name(item)` identifies an item
 * (its identity must not depend on its position, so reordering a config moves no one).
 */
export function rendezvousOrder<T>(key: string, items: readonly T[], name: (item: T) => string): T[] {
  const weighted = items.map((item) => ({ item, w: hash32(`${key}\u0000${name(item)}`) }));
  weighted.sort((a, b) => b.w - a.w);
  return weighted.map((x) => x.item);
}
