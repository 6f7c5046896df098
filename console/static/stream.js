// The console's event stream (Server-Sent Events, /api/events) as both
// pages follow it.  After a break it comes back by itself and the page
// loads again what came in meanwhile; a stream the browser gave up on
// (the console refused it: 401, 503) is opened anew, after 1 s doubling
// to 15 s, and a load at once says whether the session is gone.

import { RETRY_MAX_MS, RETRY_MIN_MS } from './loader.js';

// on: the page's handler for each event (heartbeat, alerts, expired,
// waiting: each given the event), and lost(), when the stream was given
// up on; 'open' is on.open().
export function follow(on) {
  let streamMs = RETRY_MIN_MS;
  function connect() {
    const events = new EventSource('/api/events');
    for (const name of ['heartbeat', 'alerts', 'expired', 'waiting']) {
      if (on[name]) events.addEventListener(name, on[name]);
    }
    events.addEventListener('open', () => { streamMs = RETRY_MIN_MS; on.open(); });
    events.addEventListener('error', () => {
      if (events.readyState !== EventSource.CLOSED) return;
      setTimeout(connect, streamMs);
      streamMs = Math.min(streamMs * 2, RETRY_MAX_MS);
      on.lost();
    });
  }
  connect();
}
