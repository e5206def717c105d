/** A condition: a string (equals), number (equals; a threshold for percent/seconds/pixels of
 * scroll, media and engaged goals), list (in), true/false (exists), or operators. */
export type Condition =
  | string
  | number
  | boolean
  | string[]
  | {
      equals?: string | number; contains?: string; startsWith?: string; endsWith?: string;
      matches?: string; in?: string[]; exists?: boolean;
      gt?: number; gte?: number; lt?: number; lte?: number;
      not?: boolean; caseInsensitive?: boolean;
    };

export interface Match {
  selector?: string;
  url?: Condition; path?: Condition; hostname?: Condition; query?: Record<string, Condition>;
  hash?: Condition; title?: Condition; referrer?: Condition; pagesInSession?: Condition;
  text?: Condition; id?: Condition; classes?: Condition; tag?: Condition; attr?: Record<string, Condition>; href?: Condition;
  type?: LinkType | LinkType[]; extensions?: string[]; addExtensions?: string[];
  name?: Condition; action?: Condition;
  event?: string; src?: Condition; percent?: Condition; seconds?: Condition; pixels?: Condition;
  ratio?: number; ms?: number;
  props?: Record<string, Condition>;
  any?: Match[];
}

export type LinkType = 'outbound' | 'tel' | 'mailto' | 'messenger' | 'download';
export type Source = { prop: string } | { attr: string };

/** A goal rule. See the README for every trigger and operator. */
export interface Goal {
  /** Unique id, 1–64 of A-Z a-z 0-9 _ . - */
  id: string;
  label?: string;
  /** Default "micro". Macro conversions are sent at once. */
  kind?: 'macro' | 'micro';
  category?: string;
  on: 'click' | 'link' | 'download' | 'submit' | 'media' | 'scroll' | 'pageview' | 'visible' | 'engaged' | 'custom' | 'funnel';
  match?: Match;
  /** Default: every for custom, session for funnel and pageview, page otherwise. */
  once?: 'every' | 'page' | 'session' | 'visitor' | { per: Source };
  value?: number | Source;
  currency?: string | Source;
  /** Funnels: goal ids or inline rules, in order. */
  steps?: (string | { on: Goal['on']; match?: Match })[];
  strict?: boolean;
  windowMs?: number;
  /** Whether its conversions carry `detail` (what they followed); default true. */
  details?: boolean;
}

export type Granted = boolean | 'granted' | 'denied';
export interface ConsentChoice {
  analytics?: Granted; ads?: Granted; storage?: Granted;
  analytics_storage?: Granted; ad_storage?: Granted; ad_user_data?: Granted; ad_personalization?: Granted;
}

export interface Conversion {
  goal: string;
  kind: 'macro' | 'micro';
  label: string | null;
  category: string | null;
  value: number | null;
  currency: string | null;
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
  /** The site's own hosts besides the page's (links to them are not outbound). */
  hosts?: string[];
  /** More messenger schemes ("threema:") or hosts. */
  messengers?: string[];
  /** Push conversions to window.dataLayer (true: event "goalpost_conversion"), with ads consent. */
  dataLayer?: boolean | string;
  spa?: boolean | 'hash';
  retry?: { baseMs?: number; maxMs?: number; attempts?: number; /** ms before an unanswered send is aborted and retried; default 15000 */ timeoutMs?: number };
  /** Default mode "anonymous". See the README, Consent. */
  consent?: {
    mode?: 'required' | 'anonymous' | 'implied';
    beforeGrant?: 'hold' | 'drop';
    maxHeld?: number;
    gpc?: 'ads' | 'all' | 'off';
    dnt?: boolean;
    tcf?: boolean;
    googleConsentMode?: boolean;
  };
}

export type PropValue = string | number | boolean;

export interface Goalpost {
  /** Reports a custom event; goals with `on: "custom"` and this event name convert. */
  track(name: string, props?: Record<string, PropValue>): void;
  /** Sends what is queued now; settles when it is delivered or given up. */
  flush(): Promise<void>;
  /** Sends what is queued, then removes every listener and timer. */
  shutdown(): void;
  /** The visitor's choice: 'granted', 'denied', per purpose, or Google Consent Mode keys. */
  consent(choice: 'granted' | 'denied' | ConsentChoice): void;
  /** Opts this browser out (kept across reloads); deletes what goalpost stored. */
  optOut(): void;
  /** Reverses optOut() and grants. */
  optIn(): void;
  /** Opens the preview panel on this page: the goals' elements outlined, what happens and why (loaded on demand, sends nothing). */
  preview(): void;
  /** Calls `fn` for every conversion (also a `goalpost:conversion` DOM event); returns an unsubscribe function. */
  on(type: 'conversion', fn: (conversion: Conversion) => void): () => void;
}

export interface InitOptions {
  /** Where the .wasm is, if it is not next to this module (e.g. a bundler's asset URL). */
  wasm?: string | URL | Response | BufferSource | WebAssembly.Module;
  /**
   * The visitor's consent choice(s) as the site already knows them (e.g. remembered by its
   * banner), applied before the page view: the page view, page-view goals and the stored visit
   * (once-rules, funnels) then come under them. The same values as `consent()`.
   */
  consent?: 'granted' | 'denied' | ConsentChoice | Array<'granted' | 'denied' | ConsentChoice>;
}

/** Starts goalpost. Never rejects: problems are logged once and an inert API is returned. */
export function init(config: Config | string, options?: InitOptions): Promise<Goalpost>;
export default init;

declare global {
  interface Window {
    goalpost?: ((command: 'track', name: string, props?: Record<string, PropValue>) => void) &
      ((command: 'flush', done?: () => void) => void) &
      ((command: 'shutdown') => void) &
      ((command: 'on', type: 'conversion', fn: (conversion: Conversion) => void) => void) &
      ((command: 'consent', choice: 'granted' | 'denied' | ConsentChoice) => void) &
      ((command: 'optOut' | 'optIn' | 'preview') => void);
    goalpostConfig?: Config | string;
  }
}
