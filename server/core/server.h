/* server.h - the loop thread: start (listeners, signals, cron), the drain of capture events to their sinks,
 * shutdown. Its state, struct server, is in server_state.h. */
#ifndef FC_SERVER_H
#define FC_SERVER_H

#include "server/core/server_state.h"

/* Start listening and hook the capture's events into the loop. Returns 0,
 * or -1 with a message printed. Loop thread. */
int server_start(struct server *s);

/* Makes room for maxclients connections, as Redis's adjustOpenFilesLimit: raises RLIMIT_NOFILE to
 * maxclients + a reserve for other files; when the system refuses, takes the hard limit. Returns 0
 * with *fits = the clients that fit (maxclients, or fewer with a warning when talk), or -1 (and a
 * message when talk) when none would. The raised limit stays. Loop thread. */
int server_nofile_room(uint64_t maxclients, uint64_t *fits, int talk);

/* Begin an orderly shutdown: stop capture, close clients, stop the loop. */
void server_shutdown(struct server *s, int exit_code);
/* Last step of the shutdown: close every handle so uv_run returns. */
void server_shutdown_finish(void *arg);

/* Wake the loop from a capture thread (event queue callback). Any thread. */
void server_events_notify(void *arg);
void server_capture_done(void *arg);

#endif
