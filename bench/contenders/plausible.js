// Plausible, configured the way a site tracks the same things: page views, outbound links,
// file downloads, form submissions (it has no scroll, media or click-goal tracking).
import { init } from '@plausible-analytics/tracker';

init({
  domain: 'bench.test',
  endpoint: location.origin + '/plausible/api/event',
  autoCapturePageviews: true,
  outboundLinks: true,
  fileDownloads: true,
  formSubmissions: true,
  captureOnLocalhost: true,
});
window.__benchReady = true;
