/* cloud_merge.c - a flow seen by several probes, merged in the cloud by a Redis 7 function (loop thread).
 *
 * Each probe's flow.end HINCRBYs its counters into flow.<key> (they add up) and HSETs its descriptive
 * fields; the times and TCP flags would be last-writer-wins that way. They go through FCALL
 * flowcached_flow_merge instead: first.seen keeps the earliest, last.seen the latest, tcp.flags the union
 * (in the probe's letter order), read and written in one call on the one key, so two probes ending the same
 * flow at once cannot interleave. The library is loaded by the engine on each node that lacks it
 * ("Function not found": FUNCTION LOAD REPLACE, then the call again), so it is sent once per node, not
 * with every call, and survives a node restart with its data (functions persist with RDB/AOF).
 *
 * A host (ip.<addr>, from flow.end) and a MAC (mac.<mac>, from the `mac` event) go through
 * flowcached_host_merge: the same times, and one value whose newest sighting wins across flows and probes
 * (ip.<addr> mac, mac.<mac> ip), kept with its packet time in microseconds (<field>.seen.us).
 */
#include "server/replication/cloud_merge.h"

#include <stdio.h>
#include <string.h>

#include "server/replication/cloud_engine.h"

const char cloud_merge_library[] =
    "#!lua name=flowcached\n"
    "local function times(o, f, l, set)\n"
    "  if f ~= '' and (not o[1] or tonumber(f) < tonumber(o[1])) then set[#set + 1] = 'first.seen'; set[#set + 1] = f end\n"
    "  if l ~= '' and (not o[2] or tonumber(l) > tonumber(o[2])) then set[#set + 1] = 'last.seen'; set[#set + 1] = l end\n"
    "end\n"
    "local function merge(keys, args)\n"
    "  local k, fl, set = keys[1], args[3], {}\n"
    "  local o = redis.call('HMGET', k, 'first.seen', 'last.seen', 'tcp.flags')\n"
    "  times(o, args[1], args[2], set)\n"
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
    "local function host_merge(keys, args)\n"
    "  local k, fld, v, t, set = keys[1], args[3], args[4], args[5], {}\n"
    "  local o = fld and redis.call('HMGET', k, 'first.seen', 'last.seen', fld .. '.seen.us')\n"
    "            or redis.call('HMGET', k, 'first.seen', 'last.seen')\n"
    "  times(o, args[1], args[2], set)\n"
    "  if fld and v ~= '' and (not o[3] or tonumber(t) >= tonumber(o[3])) then\n"
    "    set[#set + 1] = fld; set[#set + 1] = v; set[#set + 1] = fld .. '.seen.us'; set[#set + 1] = t\n"
    "  end\n"
    "  if #set > 0 then redis.call('HSET', k, unpack(set)) end\n"
    "  return #set / 2\n"
    "end\n"
    "redis.register_function('flowcached_flow_merge', merge)\n"
    "redis.register_function('flowcached_host_merge', host_merge)\n";

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

/* FCALL flowcached_flow_merge on key with ev's first.seen, last.seen and tcp.flags. */
void cloud_merge_flow(struct cloud_engine *eng, const char *key, const struct event *ev)
{
    char fb[EVENT_NUM_TEXT_MAX], lb[EVENT_NUM_TEXT_MAX], tb[EVENT_NUM_TEXT_MAX];
    const char *argv[7] = { "FCALL", "flowcached_flow_merge", "1", key };
    size_t lens[7] = { 5, 21, 1, strlen(key) };
    argv[4] = field_text(ev, "first.seen", fb, &lens[4]);
    argv[5] = field_text(ev, "last.seen", lb, &lens[5]);
    argv[6] = field_text(ev, "tcp.flags", tb, &lens[6]);
    cloud_engine_send(eng, 7, argv, lens);
}

void cloud_merge_host(struct cloud_engine *eng, const char *key, const struct event *ev, const char *from,
                      const char *field)
{
    char fb[EVENT_NUM_TEXT_MAX], lb[EVENT_NUM_TEXT_MAX], vb[EVENT_NUM_TEXT_MAX], tb[EVENT_NUM_TEXT_MAX];
    char seen[64];
    const char *argv[9] = { "FCALL", "flowcached_host_merge", "1", key };
    size_t lens[9] = { 5, 21, 1, strlen(key) };
    int argc = 6;
    argv[4] = field_text(ev, "first.seen", fb, &lens[4]);
    argv[5] = field_text(ev, "last.seen", lb, &lens[5]);
    if (from && event_get_str(ev, from) && snprintf(seen, sizeof(seen), "%s.seen.us", from) < (int)sizeof(seen) &&
        event_field_get(ev, seen)) {
        argv[6] = field;
        lens[6] = strlen(field);
        argv[7] = field_text(ev, from, vb, &lens[7]);
        argv[8] = field_text(ev, seen, tb, &lens[8]);
        argc = 9;
    }
    cloud_engine_send(eng, argc, argv, lens);
}
