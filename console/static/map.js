// An alert's position (issue 12 item 5): the coordinates as text, the
// accuracy, the age of the fix and a link to OpenStreetMap, always; a
// Leaflet map with a marker and the accuracy circle only when the console
// has a tile server configured (GET /api/map), because a tile server
// learns where the official is.  Leaflet is Debian's libjs-leaflet, served
// by the console under /leaflet/ and loaded only for a map.  Calling
// showLocation again on the same container with a newer position (an
// alert.location webhook) moves the marker and circle of its map.

import { age, clock, t } from './i18n.js';
import { getJson } from './api.js';

// The text of the map (i18n.js's dictionary, read when drawn).
function text() {
  return {
    none: t('value.no_location'),
    accuracy: (m) => t('map.accuracy', { m }),
    fix: (time) => t('map.fix', { time }),
    link: t('value.osm'),
    newWindow: t('map.new_window'),
    map: t('map.region'),
    marker: t('map.marker'),
    zoomIn: t('map.zoom_in'),
    zoomOut: t('map.zoom_out'),
    updates: (n) => (n === 1 ? t('map.updates_one') : t('map.updates', { n })),
  };
}

let mapConfig = null; // a promise of /api/map's answer

function config() {
  if (!mapConfig) {
    mapConfig = getJson('/api/map')
      .then((r) => (r.ok ? r.json() : { tiles: null }))
      .catch(() => ({ tiles: null }));
  }
  return mapConfig;
}

let leaflet = null; // a promise of the Leaflet module, style sheet loaded

function loadLeaflet() {
  if (!leaflet) {
    const css = new Promise((resolve, reject) => {
      const link = document.createElement('link');
      link.rel = 'stylesheet';
      link.href = '/leaflet/leaflet.css';
      link.addEventListener('load', resolve);
      link.addEventListener('error', reject);
      document.head.append(link);
    });
    // The marker's image path is read from the style sheet: it goes first.
    leaflet = css.then(() => import('/leaflet/leaflet.js'));
  }
  return leaflet;
}

// The console's clock minus ours, in seconds, for the age of the fix.
let offset = 0;
const maps = new WeakMap(); // container -> {map, marker, circle}

function fixAge(fixed) {
  const s = Math.max(0, Math.floor(Date.now() / 1000 + offset - Date.parse(fixed) / 1000));
  return age(s);
}

function tickAges() {
  for (const el of document.querySelectorAll('.fix-age[data-fixed]')) {
    el.textContent = fixAge(el.dataset.fixed);
  }
}
setInterval(tickAges, 1000);

function osmLink(loc, t) {
  const a = document.createElement('a');
  // Opened only when the operator chooses to: OpenStreetMap then learns the place.
  a.href = `https://www.openstreetmap.org/?mlat=${loc.lat}&mlon=${loc.lon}#map=17/${loc.lat}/${loc.lon}`;
  a.rel = 'noreferrer noopener';
  a.target = '_blank';
  a.className = 'osm-link';
  a.textContent = t.link;
  const hint = document.createElement('span');
  hint.className = 'visually-hidden';
  hint.textContent = ` ${t.newWindow}`;
  a.append(hint);
  return a;
}

function describe(loc, t) {
  const p = document.createElement('p');
  p.className = 'location-text';
  const coords = document.createElement('span');
  coords.className = 'coords';
  const acc = loc.accuracy_m != null ? ` ${t.accuracy(Math.round(loc.accuracy_m))}` : '';
  coords.textContent = `${loc.lat.toFixed(5)}, ${loc.lon.toFixed(5)}${acc}`;
  p.append(coords, ' ', osmLink(loc, t));
  if (loc.fixed_at) {
    const fix = document.createElement('span');
    fix.className = 'fix';
    const when = clock(new Date(loc.fixed_at));
    const ageEl = document.createElement('span');
    ageEl.className = 'fix-age';
    ageEl.dataset.fixed = loc.fixed_at;
    ageEl.textContent = fixAge(loc.fixed_at);
    fix.append(`${t.fix(when)}, `, ageEl);
    if (loc.updates > 0) fix.append(`, ${t.updates(loc.updates)}`);
    p.append(document.createElement('br'), fix);
  }
  return p;
}

// Leaflet blanks a tile it drops with a data: image, which the console's
// policy (img-src 'self' and the tile server, nothing else) refuses; this
// layer removes the tile's src instead, which stops its request as well.
let QuietTiles = null;

function quietTiles(L) {
  if (!QuietTiles) {
    QuietTiles = L.TileLayer.extend({
      _removeTile(key) {
        const tile = this._tiles[key];
        if (!tile) return undefined;
        tile.el.removeAttribute('src');
        return L.GridLayer.prototype._removeTile.call(this, key);
      },
      _abortLoading() {
        for (const i of Object.keys(this._tiles)) {
          if (this._tiles[i].coords.z !== this._tileZoom) {
            const tile = this._tiles[i].el;
            tile.onload = () => false;
            tile.onerror = () => false;
            if (!tile.complete) {
              tile.removeAttribute('src');
              tile.remove();
              delete this._tiles[i];
            }
          }
        }
      },
    });
  }
  return QuietTiles;
}

async function drawMap(container, loc, t, cfg) {
  const L = await loadLeaflet();
  const at = [loc.lat, loc.lon];
  const radius = loc.accuracy_m != null ? loc.accuracy_m : 0;
  let m = maps.get(container);
  if (m && m.map.getContainer().isConnected) {
    // A later position: the marker and the circle move; the view follows
    // only when the marker would leave it.
    m.marker.setLatLng(at);
    m.circle.setLatLng(at).setRadius(radius);
    if (!m.map.getBounds().pad(-0.1).contains(at)) m.map.panTo(at);
    m.map.getContainer().dataset.lat = loc.lat;
    m.map.getContainer().dataset.lon = loc.lon;
    return;
  }
  const box = document.createElement('div');
  box.className = 'map';
  box.setAttribute('role', 'region');
  box.setAttribute('aria-label', t.map);
  box.dataset.lat = loc.lat;
  box.dataset.lon = loc.lon;
  const credit = document.createElement('p');
  credit.className = 'map-attribution';
  credit.textContent = cfg.attribution || '';
  container.append(box, credit);
  // No attribution control: it writes HTML; the credit above is text.
  const map = L.map(box, { attributionControl: false, zoomControl: false });
  L.control.zoom({ zoomInTitle: t.zoomIn, zoomOutTitle: t.zoomOut }).addTo(map);
  new (quietTiles(L))(cfg.tiles, { maxZoom: 19 }).addTo(map);
  map.setView(at, 16);
  const circle = L.circle(at, { radius }).addTo(map);
  const marker = L.marker(at, { keyboard: false, alt: t.marker }).addTo(map);
  if (radius > 0) map.fitBounds(circle.getBounds(), { maxZoom: 17 });
  maps.set(container, { map, marker, circle });
}

// Shows location (as in /api/alerts: {lat, lon, accuracy_m, fixed_at,
// updates} or null) in container.  options.map: false for the text and
// the link only (the queue's cards); options.now: the console's clock
// (unix seconds), for the age of the fix.  Resolves once drawn.
export async function showLocation(container, location, options = {}) {
  const t = text();
  if (options.now != null) offset = options.now - Date.now() / 1000;
  const old = container.querySelector(':scope > .location-text');
  if (!location) {
    const p = document.createElement('p');
    p.className = 'location-text';
    p.textContent = t.none;
    if (old) old.replaceWith(p); else container.prepend(p);
    return;
  }
  const p = describe(location, t);
  if (old) old.replaceWith(p); else container.prepend(p);
  if (options.map === false) return;
  const cfg = await config();
  if (cfg.tiles) await drawMap(container, location, t, cfg);
}
