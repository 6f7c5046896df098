/*
 * The TLS listeners.  When the process runs out of file descriptors the
 * listeners pause for a second instead of spinning on accept().
 */
#ifndef ALERTRELAY_LISTENER_H
#define ALERTRELAY_LISTENER_H

struct relay;

/* Binds every address in relay->cfg->listen; -1 with a logged reason. */
int listener_open_all(struct relay *relay);
void listener_close_all(struct relay *relay);

#endif
