/**
 * The single entry point to `@peculiar/x509` for this package: installs the `Reflect`
 * metadata polyfill first, then loads the library and binds it to the runtime's WebCrypto.
 *
 * The library is loaded with a dynamic `import()` on purpose: Deno evaluates npm CommonJS
 * modules ahead of the ES modules that statically import them, so a static import would run
 * `tsyringe` before the polyfill. Import types from `@peculiar/x509` with `import type`.
 *
 * @module
 */
import "./_reflect_polyfill.ts";

/** The `@peculiar/x509` module namespace, ready to use. */
export const x509: typeof import("@peculiar/x509") = await import("@peculiar/x509");

x509.cryptoProvider.set(globalThis.crypto);
