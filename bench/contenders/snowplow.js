// Snowplow, configured to track the same things: page views, link clicks, forms, the video
// (its media plugin, wired to the element's events), and scroll via activity page pings.
import { newTracker, trackPageView, enableActivityTracking } from '@snowplow/browser-tracker';
import { LinkClickTrackingPlugin, enableLinkClickTracking } from '@snowplow/browser-plugin-link-click-tracking';
import { FormTrackingPlugin, enableFormTracking } from '@snowplow/browser-plugin-form-tracking';
import { SnowplowMediaPlugin, startMediaTracking, trackMediaPlay, trackMediaPause, trackMediaEnd, updateMediaTracking } from '@snowplow/browser-plugin-media';

newTracker('sp', location.origin + '/snowplow', {
  appId: 'bench',
  eventMethod: 'post',
  plugins: [LinkClickTrackingPlugin(), FormTrackingPlugin(), SnowplowMediaPlugin()],
});
enableActivityTracking({ minimumVisitLength: 10, heartbeatDelay: 10 });
trackPageView();
enableLinkClickTracking();
enableFormTracking();
const video = document.querySelector('video');
if (video) {
  const id = 'bench-video';
  startMediaTracking({ id, boundaries: [25, 50, 75, 100], player: { mediaType: 'video' } });
  const player = () => ({ currentTime: video.currentTime, duration: video.duration || undefined, paused: video.paused });
  video.addEventListener('play', () => trackMediaPlay({ id, player: player() }));
  video.addEventListener('pause', () => trackMediaPause({ id, player: player() }));
  video.addEventListener('ended', () => trackMediaEnd({ id, player: player() }));
  video.addEventListener('timeupdate', () => updateMediaTracking({ id, player: player() }));
}
window.__benchReady = true;
