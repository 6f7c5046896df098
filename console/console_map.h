/*
 * The map of an alert's position (issue 12 item 5).  Off by default:
 * then the page shows the coordinates and a link to OpenStreetMap, and
 * no request leaves the operator's browser.  With map_tiles set the
 * page draws a Leaflet map (Debian's libjs-leaflet, served by the
 * console at /leaflet/) from that tile server, which thereby learns
 * where the official is; the Content-Security-Policy then allows images
 * from exactly that server's origin and nothing else.
 */
#ifndef ALERTCONSOLE_CONSOLE_MAP_H
#define ALERTCONSOLE_CONSOLE_MAP_H

#include "console.h"

#define CONSOLE_MAP_URL_MAX 512

/* Checks map_tiles: https (http only to a loopback host), {z}, {x} and
 * {y}, one origin; -1 (logged) when unusable. */
int console_map_check(const struct console_config *cfg);
/* After console_map_check: makes the policy and /api/map's answer. */
void console_map_init(const struct console_config *cfg);
/* The Content-Security-Policy of every answer. */
const char *console_map_csp(void);
/* GET /api/map: {"tiles":URL|null,"attribution":TEXT} (caller frees). */
char *console_map_json(void);
void console_map_free(void);

#endif
