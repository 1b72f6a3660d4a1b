/* event_text.c - the text form of a probe event (one line of JSON, or a key name), made once on the loop thread. */
#include "server/core/event_text.h"

#include "resp/json.h"

/* ev's fields as one JSON object, then its packet time (ts) and probe id (probe). */
static void text_json(struct sbuf *b, const struct event *ev)
{
    char num[EVENT_NUM_TEXT_MAX];
    size_t n;
    json_begin(b);
    for (unsigned i = 0; i < ev->nfields; i++) {
        const struct event_field *f = &ev->f[i];
        const char *v = event_field_text(ev, f, num, &n);
        json_field(b, event_field_name(ev, f), v, n, f->type != EVF_STR);
    }
    const struct event_field ts = { .type = EVF_TIME, .v.u = ev->ts_us };   /* when and where it was seen */
    const char *v = event_field_text(ev, &ts, num, &n);
    json_field(b, "ts", v, n, 1);
    if (ev->probe)
        json_field_str(b, "probe", ev->probe);
    json_end(b);
}

int event_text_make(struct event *ev)
{
    struct sbuf b;
    if (ev->text)
        return 0;
    sbuf_init(&b);
    sbuf_room(&b, ev->blob_len + 24u * ev->nfields + 64);   /* enough unless strings need escapes */
    if (ev->channel == EV_KEY_EXPIRED) {
        const char *key = event_get_str(ev, "key");
        if (key)
            sbuf_appends(&b, key);
    } else {
        text_json(&b, ev);
    }
    sbuf_appendc(&b, '\0');
    if (b.oom) {
        sbuf_free(&b);
        return -1;
    }
    ev->text = b.buf;
    ev->text_len = b.len - 1;
    return 0;
}
