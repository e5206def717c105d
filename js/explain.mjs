// goalpost's companion (dist/goalpost-explain.mjs + goalpost_explain_bg.wasm): the config
// compiler with its errors in words. The tracker's build, which every page loads, reports a
// config's problems by their JSON paths only; the entry (js/entry.mjs) imports this module
// only when a config has a problem, and logs what it returns. `goalpost check` runs the same
// build on Node (js/cli.mjs).
import initWasm, { explain as explainWasm } from './goalpost_explain.js';

/**
 * The console line goalpost logs for `config`'s problems on this page: what is wrong at each
 * JSON path, with its did-you-mean; empty when there is none. `wasm`: where
 * goalpost_explain_bg.wasm is.
 */
export async function explain(config, wasm) {
  await initWasm({ module_or_path: wasm });
  return explainWasm(config, document);
}
