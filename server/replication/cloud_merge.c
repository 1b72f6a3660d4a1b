/* cloud_merge.c - a flow seen by several probes, merged in the cloud by a Redis 7 function (loop thread).
 *
 * Each probe's flow.end HINCRBYs its counters into flow.<key> (they add up) and HSETs its descriptive
 * fields; the times and TCP flags would be last-writer-wins that way. They go through FCALL
 * flowcached_flow_merge instead: first.seen keeps the earliest, last.seen the latest, tcp.flags the union
 * (in the probe's letter order), read and written in one call on the one key, so two probes ending the same
 * flow at once cannot interleave. The library is loaded by the engine on each node that lacks it
 * ("Function not found": FUNCTION LOAD REPLACE, then the call again), so it is sent once per node, not
 * with every call, and survives a node restart with its data (functions persist with RDB/AOF).
 */
#include "server/replication/cloud_merge.h"

#include <string.h>

#include "server/replication/cloud_engine.h"

const char cloud_merge_library[] =
    "#!lua name=flowcached\n"
    "local function merge(keys, args)\n"
    "  local k, f, l, fl = keys[1], args[1], args[2], args[3]\n"
    "  local o = redis.call('HMGET', k, 'first.seen', 'last.seen', 'tcp.flags')\n"
    "  local set = {}\n"
    "  if f ~= '' and (not o[1] or tonumber(f) < tonumber(o[1])) then set[#set + 1] = 'first.seen'; set[#set + 1] = f end\n"
    "  if l ~= '' and (not o[2] or tonumber(l) > tonumber(o[2])) then set[#set + 1] = 'last.seen'; set[#set + 1] = l end\n"
    "  if fl then\n"
    "    local have, u = (o[3] or '') .. fl, ''\n"
    "    for c in string.gmatch('FSRPAUEC', '.') do\n"
    "      if string.find(have, c, 1, true) then u = u .. c end\n"
    "    end\n"
    "    if o[3] ~= u then set[#set + 1] = 'tcp.flags'; set[#set + 1] = u end\n"
    "  end\n"
    "  if #set > 0 then redis.call('HSET', k, unpack(set)) end\n"
    "  return #set / 2\n"
    "end\n"
    "redis.register_function('flowcached_flow_merge', merge)\n";

int cloud_merge_field(const char *name)
{
    return strcmp(name, "first.seen") == 0 || strcmp(name, "last.seen") == 0 || strcmp(name, "tcp.flags") == 0;
}

/* The text of ev's field name ("" when it has none), a number written into buf. */
static const char *field_text(const struct event *ev, const char *name, char buf[EVENT_NUM_TEXT_MAX], size_t *len)
{
    const struct event_field *f = event_field_get(ev, name);
    const char *s = f ? event_field_text(ev, f, buf, len) : NULL;
    if (!s) {
        *len = 0;
        return "";
    }
    return s;
}

/* FCALL flowcached_flow_merge on key with ev's first.seen, last.seen and, with flags, tcp.flags. */
static void merge_call(struct cloud_engine *eng, const char *key, const struct event *ev, int flags)
{
    char fb[EVENT_NUM_TEXT_MAX], lb[EVENT_NUM_TEXT_MAX], tb[EVENT_NUM_TEXT_MAX];
    const char *argv[7] = { "FCALL", "flowcached_flow_merge", "1", key };
    size_t lens[7] = { 5, 21, 1, strlen(key) };
    argv[4] = field_text(ev, "first.seen", fb, &lens[4]);
    argv[5] = field_text(ev, "last.seen", lb, &lens[5]);
    argv[6] = field_text(ev, "tcp.flags", tb, &lens[6]);
    cloud_engine_send(eng, flags ? 7 : 6, argv, lens);
}

void cloud_merge_flow(struct cloud_engine *eng, const char *key, const struct event *ev)
{
    merge_call(eng, key, ev, 1);
}

void cloud_merge_times(struct cloud_engine *eng, const char *key, const struct event *ev)
{
    merge_call(eng, key, ev, 0);
}
