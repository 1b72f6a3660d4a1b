/* sink.c - the registry of event sinks: delivery to each, the union of their channels, INFO, shutdown (loop thread). */
#include "server/core/sink.h"

#include <ctype.h>
#include <string.h>

#include "server/core/event_text.h"

int sink_register(struct sink_registry *r, const struct sink *sk)
{
    if (r->n == SINKS_MAX)
        return -1;
    r->v[r->n++] = *sk;
    return 0;
}

void sink_wanted_update(struct sink_registry *r)
{
    uint32_t mask = 0, text = 0, fields = 0, raw = 0;
    for (int i = 0; i < r->n; i++) {
        uint32_t m = r->v[i].wanted ? r->v[i].wanted(r->v[i].arg) : 0;
        mask |= m;
        if (r->v[i].wants_text)
            text |= m;
        if (r->v[i].reads_raw)
            raw |= m & (1u << EV_FLOW_END);          /* the one channel with a binary record */
        else
            fields |= m;
    }
    fields |= mask & ~raw;           /* a raw reader of a channel without a record reads its fields */
    r->text_mask = text;
    r->fields_mask = fields;
    /* capture threads read these: the fields and record masks first, so a channel they see wanted
     * never lacks what its readers need (a sink that starts reading fields gets them from then on) */
    if (atomic_load_explicit(&event_fields_mask, memory_order_relaxed) != fields)
        atomic_store_explicit(&event_fields_mask, fields, memory_order_relaxed);
    if (atomic_load_explicit(&event_raw_mask, memory_order_relaxed) != raw)
        atomic_store_explicit(&event_raw_mask, raw, memory_order_relaxed);
    if (atomic_load_explicit(&event_wanted_mask, memory_order_relaxed) != mask)
        atomic_store_explicit(&event_wanted_mask, mask, memory_order_relaxed);
}

void sink_deliver(const struct sink_registry *r, struct event *ev)
{
    if (!ev->no_fields && ((r->text_mask >> ev->channel) & 1u))
        event_text_make(ev);
    ev->held = 0;
    for (int i = 0; i < r->n && ev->text && !ev->held; i++)
        ev->held = r->v[i].holds && r->v[i].holds(r->v[i].arg, ev);
    for (int i = 0; i < r->n; i++)
        if (r->v[i].on_event && (!ev->no_fields || r->v[i].reads_raw))
            r->v[i].on_event(r->v[i].arg, ev);
}

void sink_reconfigure_all(const struct sink_registry *r, const struct fc_config *cfg)
{
    for (int i = 0; i < r->n; i++)
        if (r->v[i].reconfigure)
            r->v[i].reconfigure(r->v[i].arg, cfg);
}

int sink_info(const struct sink_registry *r, int i, struct sbuf *b)
{
    const struct sink *sk = &r->v[i];
    if (!sk->info)
        return -1;
    sbuf_appends(b, "# ");
    sbuf_appendc(b, (char)toupper((unsigned char)sk->name[0]));
    sbuf_appends(b, sk->name + 1);
    sbuf_appends(b, "\r\n");
    sk->info(sk->arg, b);
    return 0;
}

static void sink_shut_one(void *arg)
{
    struct sink_registry *r = arg;
    if (--r->shut_pending == 0 && r->shut_done)
        r->shut_done(r->shut_arg);
}

void sink_shutdown_all(struct sink_registry *r, void (*done)(void *arg), void *arg)
{
    r->shut_done = done;
    r->shut_arg = arg;
    r->shut_pending = 1;             /* held until every shutdown is started */
    for (int i = 0; i < r->n; i++)
        if (r->v[i].shutdown) {
            r->shut_pending++;
            r->v[i].shutdown(r->v[i].arg, sink_shut_one, r);
        }
    sink_shut_one(r);
}

void sink_destroy_all(struct sink_registry *r)
{
    for (int i = 0; i < r->n; i++)
        if (r->v[i].destroy)
            r->v[i].destroy(r->v[i].arg);
    r->n = 0;
}
