import type { BlockPageConfig } from "../config/config.ts";
import { BlockPage } from "./block-page.ts";

/**
 * The block page a config asks for, its template file read (at start and on every reload,
 * so an edited page shows after a reload).
 *
 * @throws {Error} naming the file when it cannot be read or has an unknown placeholder
 */
export function blockPageFromConfig(config: BlockPageConfig, readText: (path: string) => string): BlockPage {
  const path = config.template;
  let template: string | undefined;
  if (path !== undefined) {
    try {
      template = readText(path);
    } catch (e) {
      throw new Error(`blockPage.template: cannot read ${JSON.stringify(path)}: ${(e as Error).message}`);
    }
  }
  try {
    return new BlockPage({
      ...(template !== undefined ? { template } : {}),
      ...(config.redirect !== undefined ? { redirect: config.redirect } : {}),
      interceptDenied: config.interceptDenied,
    });
  } catch (e) {
    throw new Error(`blockPage.template ${JSON.stringify(path)}: ${(e as Error).message}`);
  }
}
