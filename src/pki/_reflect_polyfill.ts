/**
 * Minimal `Reflect` metadata polyfill for `tsyringe`, which `@peculiar/x509` uses internally.
 *
 * `tsyringe` refuses to load unless `Reflect.getMetadata` exists; it only ever reads and writes
 * class-level metadata. This installs the four functions it touches, and only when no other
 * polyfill (`reflect-metadata`, `core-js`) is present. Import it before `@peculiar/x509`.
 *
 * @module
 */

type MetadataKey = unknown;
type PropertyKeyOrUndefined = string | symbol | undefined;

interface ReflectMetadataApi {
  getMetadata?: (key: MetadataKey, target: object, property?: PropertyKeyOrUndefined) => unknown;
  getOwnMetadata?: (key: MetadataKey, target: object, property?: PropertyKeyOrUndefined) => unknown;
  defineMetadata?: (key: MetadataKey, value: unknown, target: object, property?: PropertyKeyOrUndefined) => void;
  hasMetadata?: (key: MetadataKey, target: object, property?: PropertyKeyOrUndefined) => boolean;
  metadata?: (key: MetadataKey, value: unknown) => (target: object, property?: PropertyKeyOrUndefined) => void;
}

const reflect = Reflect as unknown as ReflectMetadataApi;

if (typeof reflect.getMetadata !== "function") {
  const store = new WeakMap<object, Map<PropertyKeyOrUndefined, Map<MetadataKey, unknown>>>();

  const own = (target: object, property: PropertyKeyOrUndefined, create: boolean): Map<MetadataKey, unknown> | undefined => {
    let byProperty = store.get(target);
    if (byProperty === undefined) {
      if (!create) return undefined;
      byProperty = new Map();
      store.set(target, byProperty);
    }
    let entries = byProperty.get(property);
    if (entries === undefined && create) {
      entries = new Map();
      byProperty.set(property, entries);
    }
    return entries;
  };

  const find = (key: MetadataKey, target: object, property: PropertyKeyOrUndefined): { found: boolean; value: unknown } => {
    for (let t: object | null = target; t !== null; t = Object.getPrototypeOf(t) as object | null) {
      const entries = own(t, property, false);
      if (entries?.has(key)) return { found: true, value: entries.get(key) };
    }
    return { found: false, value: undefined };
  };

  reflect.defineMetadata = (key, value, target, property) => {
    own(target, property, true)?.set(key, value);
  };
  reflect.getOwnMetadata = (key, target, property) => own(target, property, false)?.get(key);
  reflect.getMetadata = (key, target, property) => find(key, target, property).value;
  reflect.hasMetadata = (key, target, property) => find(key, target, property).found;
  reflect.metadata = (key, value) => (target, property) => {
    own(target, property, true)?.set(key, value);
  };
}
