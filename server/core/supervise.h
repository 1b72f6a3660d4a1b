/* supervise.h - tells a service manager how start-up and shutdown go (systemd's sd_notify protocol), as redis-server's `supervised systemd` does. */
#ifndef FC_SUPERVISE_H
#define FC_SUPERVISE_H

/* The `supervised` directive. */
enum supervised_mode { SUPERVISED_NO = 0, SUPERVISED_SYSTEMD, SUPERVISED_AUTO };

/* Sends state ("READY=1\nSTATUS=...", "STOPPING=1") as one datagram to the
 * AF_UNIX socket named by $NOTIFY_SOCKET (a path, or "@name" in the
 * abstract namespace), when mode is systemd, or auto and the variable is
 * set. Returns 1 when sent, 0 when there is nobody to tell, -1 (errno set)
 * when the send failed; nothing is left open. Loop thread. */
int supervise_notify(enum supervised_mode mode, const char *state);

#endif
