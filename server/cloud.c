/* cloud.c - replication to cloud Redis nodes (loop thread). Not implemented yet: see issue 4. */
#include "server/cloud.h"

#include <stdio.h>

int cloud_create(struct server *s, char *err, size_t errlen)
{
    (void)s;
    snprintf(err, errlen, "the 'cloud' directive is not supported yet (replication is issue 4)");
    return -1;
}

void cloud_on_event(struct cloud *cl, const struct event *ev) { (void)cl; (void)ev; }
void cloud_info(struct cloud *cl, struct sbuf *b) { (void)cl; (void)b; }
void cloud_shutdown(struct cloud *cl, void (*done)(void *arg), void *arg) { (void)cl; done(arg); }
void cloud_destroy(struct cloud *cl) { (void)cl; }
