/* event_text.h - the text form of a probe event, made once on the loop thread for the sinks that read text. */
#ifndef FC_EVENT_TEXT_H
#define FC_EVENT_TEXT_H

#include "capture/events/events.h"

/*
 * Makes ev->text (and text_len) unless it is there: what subscribers and the
 * cloud receive. One line of JSON with ev's fields in order (strings quoted,
 * numbers bare, times as 1700000000.123), then "ts" (its packet time) and
 * "probe" (ev->probe, left out while NULL); for __keyevent@0__:expired the
 * key name alone, as Redis publishes it. Returns 0, or -1 when memory ran out
 * (ev->text stays NULL). The text is freed with ev. Loop thread (ev's owner).
 */
int event_text_make(struct event *ev);

#endif
