/* worker_app.h - applies dissector actions to the cache and the event channels (capture thread). */
#ifndef FC_WORKER_APP_H
#define FC_WORKER_APP_H

#include "capture/worker.h"
#include "dissectors/app.h"

/* Apply acts (gathered under a flow lock, applied with none held) at time ts:
 * name tables, host fields, users, and dns/http/user/alert events. */
void worker_apply_actions(struct worker *w, const struct app_actions *acts, uint64_t ts);

#endif
