// The console's event stream (Server-Sent Events, /api/events) as both
// pages follow it.  After a break it comes back by itself and the page
// loads again what came in meanwhile; a stream the browser gave up on
// (the console refused it: 401, 503) is opened anew, after 1 s doubling
// to 15 s, and a load at once says whether the session is gone.
// A stream that carries nothing for two heartbeat intervals is taken
// for dead too and handled the same way: a connection can stop carrying
// data without ever closing (a NAT or firewall that dropped its state,
// a change of network, a proxy), and the browser would then wait on it
// for good, with no new alert listed and no alarm.

import { RETRY_MAX_MS, RETRY_MIN_MS } from './loader.js';

const NAMES = ['heartbeat', 'alerts', 'expired', 'waiting'];

// on: the page's handler for each event (heartbeat, alerts, expired,
// waiting: each given the event), and lost(), when the stream was given
// up on; 'open' is on.open().  heartbeatMs: how often the console sends
// a heartbeat (/api/session's heartbeat_ms).  Returns down(): true from
// the moment the stream was given up on until a new one delivers.
export function follow(on, heartbeatMs) {
  let streamMs = RETRY_MIN_MS;
  let down = false;
  let watchdog = null;

  function connect() {
    const events = new EventSource('/api/events');

    function giveUp() {
      clearTimeout(watchdog);
      events.close();
      down = true;
      setTimeout(connect, streamMs);
      streamMs = Math.min(streamMs * 2, RETRY_MAX_MS);
      on.lost();
    }

    // armed anew by everything the stream delivers; set from the
    // event, not from a timer, so a hidden tab's timer throttling
    // (which chains of timers get) leaves it alone
    function arm() {
      clearTimeout(watchdog);
      watchdog = setTimeout(giveUp, 2 * heartbeatMs);
    }

    function heard() {
      down = false;
      arm();
    }

    for (const name of NAMES) {
      events.addEventListener(name, (ev) => {
        heard();
        if (on[name]) on[name](ev);
      });
    }
    events.addEventListener('open', () => { heard(); streamMs = RETRY_MIN_MS; on.open(); });
    events.addEventListener('error', () => {
      if (events.readyState === EventSource.CLOSED) giveUp();
    });
    arm(); // a connection that never opens is not waited on for good
  }
  connect();
  return { down: () => down };
}
