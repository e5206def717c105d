/** A goal rule. See the README for every trigger; this version understands `click` and `custom`. */
export interface Goal {
  /** Unique id, 1–64 of A-Z a-z 0-9 _ . - */
  id: string;
  label?: string;
  /** Default "micro". Macro conversions are sent at once. */
  kind?: 'macro' | 'micro';
  on: 'click' | 'custom';
  /** click: `{ selector }` (CSS, matched with closest()); custom: `{ event }` (defaults to the goal id). */
  match?: { selector?: string; event?: string };
}

export interface Config {
  $schema?: string;
  /** An http(s) URL, or a path on the page's origin, that accepts beacon protocol v1. */
  collector: string;
  /** The site's name, 1–64 of A-Z a-z 0-9 _ . - */
  site: string;
  goals?: Goal[];
  /** Send a page_view per page (default true). */
  pageviews?: boolean;
  /** Log matches and ignored inputs to the console (default false). */
  debug?: boolean;
  /** Batching (defaults: 20 events, 2000 ms). */
  batch?: { maxEvents?: number; maxDelayMs?: number };
}

export type PropValue = string | number | boolean;

export interface Goalpost {
  /** Reports a custom event; goals with `on: "custom"` and this event name convert. */
  track(name: string, props?: Record<string, PropValue>): void;
  /** Sends what is queued now; settles when it is delivered or given up. */
  flush(): Promise<void>;
  /** Sends what is queued, then removes every listener and timer. */
  shutdown(): void;
}

export interface InitOptions {
  /** Where the .wasm is, if it is not next to this module (e.g. a bundler's asset URL). */
  wasm?: string | URL | Response | BufferSource | WebAssembly.Module;
}

/** Starts goalpost. Never rejects: problems are logged once and an inert API is returned. */
export function init(config: Config | string, options?: InitOptions): Promise<Goalpost>;
export default init;

declare global {
  interface Window {
    goalpost?: ((command: 'track', name: string, props?: Record<string, PropValue>) => void) &
      ((command: 'flush', done?: () => void) => void) &
      ((command: 'shutdown') => void);
    goalpostConfig?: Config | string;
  }
}
