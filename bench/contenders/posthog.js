// PostHog, configured the way a site tracks the same things: autocapture (clicks, forms),
// page views; no session recording, surveys or remote config (nothing else to download).
import posthog from 'posthog-js';

posthog.init('phc_bench', {
  api_host: location.origin + '/posthog',
  autocapture: true,
  capture_pageview: true,
  capture_pageleave: false,
  disable_session_recording: true,
  disable_surveys: true,
  advanced_disable_flags: true,
  advanced_disable_decide: true,
  persistence: 'memory',
  // the bench runs headless Chromium, whose user agent PostHog would drop as a bot
  opt_out_useragent_filter: true,
  loaded: () => { window.__benchReady = true; },
});
