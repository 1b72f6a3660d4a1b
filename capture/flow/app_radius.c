/* app_radius.c - per-flow RADIUS glue: an Accounting-Request's user, session and addresses as an action (capture threads). */
#include "capture/flow/app_glue.h"

#include <string.h>

#include "capture/flow/app.h"
#include "capture/cache/names.h"
#include "dissectors/radius.h"

void app_radius_packet(const struct decoded_pkt *p, struct app_actions *out)
{
    struct radius_msg m;
    if (radius_parse(p->payload, p->payload_len, &m) != DISSECT_OK ||
        m.code != RADIUS_ACCOUNTING_REQUEST || m.acct_status == 0 || !m.user[0] ||
        strlen(m.user) >= NAME_USER_MAX)
        return;
    struct app_action *a = app_action_add(out, ACT_RADIUS);
    if (!a)
        return;
    a->acct_status = m.acct_status;
    app_str_copy(a->name, sizeof(a->name), m.user);
    app_str_copy(a->session, sizeof(a->session), m.session_id);
    if (m.has_framed_ip) {
        a->has_ip = 1;
        a->ipver = 4;
        memcpy(a->ip, m.framed_ip, 4);
    } else if (m.has_framed_ip6) {
        a->has_ip = 1;
        a->ipver = 6;
        memcpy(a->ip, m.framed_ip6, 16);
    }
    if (m.has_nas_ip) {
        a->has_nas = 1;
        a->nas_ver = 4;
        memcpy(a->nas, m.nas_ip, 4);
    } else if (m.has_nas_ip6) {
        a->has_nas = 1;
        a->nas_ver = 6;
        memcpy(a->nas, m.nas_ip6, 16);
    } else {
        a->has_nas = 1;              /* the NAS is the sender when it does not say */
        a->nas_ver = p->ip_version;
        memcpy(a->nas, p->src, 16);
    }
}
