/* info.h - the INFO reply: Redis's sections plus # Capture and # Flows (loop thread). */
#ifndef FC_INFO_H
#define FC_INFO_H

#include "resp/resp_reader.h"
#include "resp/resp_writer.h"

struct server;

/* Append the INFO text for the sections named in argv[1..argc-1] (none =
 * default) to out. Unknown sections add nothing. */
void info_render(struct server *s, int argc, struct resp_arg *argv, struct sbuf *out);

#endif
