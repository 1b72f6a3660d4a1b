/* cloud_users.c - who is at an address, across probes: RADIUS users in the cloud, the synchronous lookup of
 * ipuser.<addr> with its cache, and what the probe keeps of the answers (loop thread).
 *
 * A flow's client is looked up when the flow starts (GET ipuser.<ip>, then HGET user.<name> logout on the
 * synchronous connection), so that the probe keeps the user in its own ipuser table before the flow ends:
 * its flow.* hash, its flow.end event and ip.<client> then show the user. A user counts for a flow only
 * when the flow started before his logout (packet times), so the cache is a per-connection verdict, not a
 * per-address one: after a logout, older flows keep the name through the grace period, newer ones don't.
 */
#include "server/replication/cloud_users.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resp/json.h"
#include "server/replication/cloud_cluster.h"
#include "server/replication/cloud_engine.h"
#include "server/replication/cloud_send.h"

enum {
    UCACHE_SIZE = 4096,                 /* user cache slots (direct mapped) */
    UCACHE_POS_MS = 60000,
    UCACHE_NEG_MS = 10000,
    UCACHE_PENDING_MS = 5000,
    LOOKUP_WAITERS = 16,
    IP_TEXT_MAX = 64,
};

struct user_lookup {                   /* one GET ipuser.<ip> (then HGET user.<name> logout) in flight */
    struct cloud_users *u;
    char ip[IP_TEXT_MAX];
    char *user;                        /* the GET's answer, while the HGET is asked */
    int nkeys;
    char *keys[LOOKUP_WAITERS];        /* flow keys that ended while it was asked */
    uint64_t since[LOOKUP_WAITERS];    /* their first packet times (us) */
    char *held[LOOKUP_WAITERS];        /* their flow.end (JSON, NUL-terminated) held until the answer, or NULL */
};

struct ucache_entry {
    char ip[IP_TEXT_MAX];
    char *user;                        /* NULL: negative entry */
    uint64_t logout_us;                /* the user's logout (packet time), 0 = logged in */
    uint64_t expires_ms;
    struct user_lookup *pending;       /* lookup in flight */
};

struct cloud_users {
    struct cloud_engine *eng;
    struct cloud_users_config cfg;
    struct ucache_entry *cache;
    struct cloud_users_stats st;
};

static uint64_t grace_ms(const struct cloud_users *u)
{
    return (u->cfg.user_grace ? u->cfg.user_grace : 1) * 1000;
}

/* Queues the command a0..a(argc-1) (argc <= 4; the rest NULL). */
static void send4(struct cloud_users *u, int argc, const char *a0, const char *a1, const char *a2, const char *a3)
{
    const char *argv[] = { a0, a1, a2, a3 };
    cloud_send_args(u->eng, argc, argv);
}

/* A time field of ev in microseconds (0 when absent). */
static uint64_t ev_time(const struct event *ev, const char *name)
{
    const struct event_field *f = event_field_get(ev, name);
    return f && (f->type == EVF_TIME || f->type == EVF_UINT) ? f->v.u : 0;
}

/* "1700000000.123" -> microseconds; 0 when it is not such a time. */
static uint64_t parse_time_us(const char *s, size_t len)
{
    char buf[32], *end;
    if (!s || len == 0 || len >= sizeof(buf))
        return 0;
    memcpy(buf, s, len);
    buf[len] = 0;
    uint64_t sec = strtoull(buf, &end, 10), frac = 0, scale = 1000000;
    if (*end == '.')
        for (const char *p = end + 1; *p >= '0' && *p <= '9' && scale > 1; p++)
            frac += (uint64_t)(*p - '0') * (scale /= 10);
    return sec * 1000000 + frac;
}

/* Does user (logged out at logout_us, 0 = not) count for a flow that started at since_us? */
static int user_counts(uint64_t logout_us, uint64_t since_us)
{
    return !logout_us || !since_us || since_us <= logout_us;
}

/* ------------------------------------------------------------------ the probe's side */

/* The probe keeps a user the cloud named as long as the positive cache does, at least as long as a
 * host stays (its flows keep the name while they live), with the logout when there was one. */
static void user_keep(struct cloud_users *u, const char *ip, const char *user, uint64_t logout_us)
{
    uint64_t ttl_ms = u->cfg.host_ttl * 1000 > UCACHE_POS_MS ? u->cfg.host_ttl * 1000 : UCACHE_POS_MS;
    if (u->cfg.learnt)
        u->cfg.learnt(u->cfg.arg, ip, user, ttl_ms);
    if (logout_us && u->cfg.departed)
        u->cfg.departed(u->cfg.arg, ip, user, logout_us, grace_ms(u));
}

/* The user of a flow's client on the cloud's flow.<key> and ip.<client>. */
static void user_apply(struct cloud_users *u, const char *flow_key, const char *ip, const char *user)
{
    char key[96];
    send4(u, 4, "HSET", flow_key, "user", user);
    if (snprintf(key, sizeof(key), "ip.%s", ip) < (int)sizeof(key))
        send4(u, 4, "HSET", key, "user", user);
}

/* ------------------------------------------------------------------ lookups */

static struct ucache_entry *ucache_slot(struct cloud_users *u, const char *ip)
{
    return &u->cache[cloud_crc16(ip, strlen(ip)) % UCACHE_SIZE];
}

static void lookup_free(struct user_lookup *lk)
{
    for (int i = 0; i < lk->nkeys; i++) {
        free(lk->keys[i]);
        free(lk->held[i]);
    }
    free(lk->user);
    free(lk);
}

/* Publishes held, a flow.end held for its lookup, on the probe's channel and the cloud's, with user
 * (NULL: none) added before its "ts" (the event's own members come first). */
static void held_publish(struct cloud_users *u, const char *held, const char *user)
{
    if (cloud_engine_finished(u->eng))  /* shut down: no subscriber is left */
        return;
    struct sbuf b;
    sbuf_init(&b);
    size_t n = strlen(held);
    const char *ts = user ? strstr(held, ",\"ts\":") : NULL;
    size_t cut = ts ? (size_t)(ts - held) : n;
    if (user && !ts && n > 0 && held[n - 1] == '}')
        cut = n - 1;
    if (user && cut < n) {
        sbuf_append(&b, held, cut);
        json_field_str(&b, "user", user);
        sbuf_append(&b, held + cut, n - cut);
        sbuf_appendc(&b, 0);
    }
    const char *js = user && cut < n && !b.oom ? b.buf : held;
    u->st.flow_end_users += js != held;
    u->cfg.local_publish(u->cfg.local_arg, "flow.end", js, strlen(js));
    const char *argv[] = { "PUBLISH", "flow.end", js };
    cloud_send_args(u->eng, 3, argv);
    sbuf_free(&b);
}

/* The lookup's verdict: user (NULL: nobody) logged out at logout_us; cached, kept, applied. */
static void lookup_finish(struct user_lookup *lk, const char *user, uint64_t logout_us)
{
    struct cloud_users *u = lk->u;
    struct ucache_entry *e = ucache_slot(u, lk->ip);
    if (user) {
        u->st.hits++;
        user_keep(u, lk->ip, user, logout_us);
    }
    if (e->pending == lk) {
        free(e->user);
        e->user = user ? strdup(user) : NULL;
        e->logout_us = logout_us;
        e->expires_ms = cloud_wall_ms() + (!user ? UCACHE_NEG_MS : logout_us ? grace_ms(u) : UCACHE_POS_MS);
        e->pending = NULL;
    }
    for (int i = 0; i < lk->nkeys; i++) {
        const char *his = user && user_counts(logout_us, lk->since[i]) ? user : NULL;
        if (his)
            user_apply(u, lk->keys[i], lk->ip, his);
        if (lk->held[i])
            held_publish(u, lk->held[i], his);
    }
    lookup_free(lk);
}

/* No answer: the next flow of this client asks again. */
static void lookup_fail(struct user_lookup *lk)
{
    struct ucache_entry *e = ucache_slot(lk->u, lk->ip);
    if (e->pending == lk) {
        e->pending = NULL;
        e->expires_ms = 0;
    }
    for (int i = 0; i < lk->nkeys; i++)
        if (lk->held[i])
            held_publish(lk->u, lk->held[i], NULL);
    lookup_free(lk);
}

/* The answer to HGET user.<name> logout. */
static void logout_answer_cb(void *arg, const char *val, size_t len, int status)
{
    struct user_lookup *lk = arg;
    char *user = lk->user;
    lk->user = NULL;
    lookup_finish(lk, user, status == 0 ? parse_time_us(val, len) : 0);
    free(user);
}

/* The answer to GET ipuser.<ip>: a user is then asked for his logout time. */
static void user_answer_cb(void *arg, const char *val, size_t len, int status)
{
    struct user_lookup *lk = arg;
    char key[320];
    if (status != 0) {
        lookup_fail(lk);
        return;
    }
    if (!val || len == 0 || snprintf(key, sizeof(key), "user.%s", val) >= (int)sizeof(key) ||
        !(lk->user = strdup(val))) {
        lookup_finish(lk, val && len ? val : NULL, 0);
        return;
    }
    const char *argv[] = { "HGET", key, "logout" };
    if (cloud_engine_ask(lk->u->eng, 3, argv, logout_answer_cb, lk) != 0)
        logout_answer_cb(lk, NULL, 0, -1);
}

/* Asks the cloud for ip's user (answered later; nothing waits); flow_key, when not NULL, is a flow
 * that ended without a user (started at since_us) and gets it. */
static void user_ask(struct cloud_users *u, struct ucache_entry *e, const char *ip, const char *flow_key,
                     uint64_t since_us, uint64_t now)
{
    char key[96];
    size_t iplen = strlen(ip);
    struct user_lookup *lk = calloc(1, sizeof(*lk));
    if (!lk || (flow_key && !(lk->keys[0] = strdup(flow_key)))) {
        free(lk);
        return;
    }
    lk->u = u;
    lk->nkeys = flow_key ? 1 : 0;
    lk->since[0] = since_us;
    memcpy(lk->ip, ip, iplen + 1);
    snprintf(key, sizeof(key), "ipuser.%s", ip);
    struct ucache_entry old = *e;       /* the answer may come before cloud_engine_get returns */
    memcpy(e->ip, ip, iplen + 1);
    e->user = NULL;
    e->logout_us = 0;
    e->pending = lk;
    e->expires_ms = now + UCACHE_PENDING_MS;
    if (cloud_engine_get(u->eng, key, user_answer_cb, lk) != 0) {
        *e = old;
        lookup_free(lk);
        u->st.skipped++;
        return;
    }
    free(old.user);
    u->st.lookups++;
}

/* Resolves the user of a flow's client (started at since_us): from the cache, else from the cloud. held:
 * the flow's flow.end (cloud_users_holds said so), published with the user at once when the cache has
 * him, else once the lookup in flight answers; or NULL. Returns 1 when it took held. */
static int user_lookup(struct cloud_users *u, const char *ip, const char *flow_key, uint64_t since_us,
                       const char *held)
{
    if (strlen(ip) >= IP_TEXT_MAX)
        return 0;
    struct ucache_entry *e = ucache_slot(u, ip);
    uint64_t now = cloud_wall_ms();
    if (strcmp(e->ip, ip) != 0 || e->expires_ms <= now) {
        user_ask(u, e, ip, flow_key, since_us, now);
        return 0;
    }
    struct user_lookup *lk = e->pending;
    if (lk) {
        int i = lk->nkeys;
        if (!flow_key || i >= LOOKUP_WAITERS || !(lk->keys[i] = strdup(flow_key)))
            return 0;
        lk->since[lk->nkeys++] = since_us;
        return held && (lk->held[i] = strdup(held)) != NULL;
    }
    u->st.cache_hits++;
    if (!e->user || !user_counts(e->logout_us, since_us))
        return 0;
    if (flow_key)
        user_apply(u, flow_key, ip, e->user);
    else
        user_keep(u, ip, e->user, e->logout_us);
    if (held)                           /* answered after the flow.end was made: it gets the user now */
        held_publish(u, held, e->user);
    return held != NULL;
}

/* This probe saw user log in at ip (logout_us 0) or out: the cache knows at once. */
static void user_seen(struct cloud_users *u, const char *ip, const char *user, uint64_t logout_us)
{
    struct ucache_entry *e = ucache_slot(u, ip);
    if (strlen(ip) >= IP_TEXT_MAX || e->pending)
        return;
    snprintf(e->ip, sizeof(e->ip), "%s", ip);
    free(e->user);
    e->user = strdup(user);
    e->logout_us = logout_us;
    e->expires_ms = cloud_wall_ms() + (logout_us ? grace_ms(u) : UCACHE_POS_MS);
}

void cloud_users_flow_new(struct cloud_users *u, const struct event *ev)
{
    const char *cli = event_get_str(ev, "cli.ip");
    if (u && cli)
        user_lookup(u, cli, NULL, ev->ts_us, NULL);
}

int cloud_users_holds(const struct cloud_users *u, const struct event *ev)
{
    const char *cli = event_get_str(ev, "cli.ip");
    if (!u || !u->cfg.local_publish || ev->channel != EV_FLOW_END || !ev->text || !cli ||
        event_get_str(ev, "user") || strlen(cli) >= IP_TEXT_MAX)
        return 0;
    const struct ucache_entry *e = ucache_slot((struct cloud_users *)u, cli);
    if (strcmp(e->ip, cli) != 0 || e->expires_ms <= cloud_wall_ms())
        return 0;
    return e->pending ? e->pending->nkeys < LOOKUP_WAITERS
                      : e->user && user_counts(e->logout_us, ev_time(ev, "first.seen"));
}

int cloud_users_flow_end(struct cloud_users *u, const struct event *ev, const char *key)
{
    const char *cli = event_get_str(ev, "cli.ip");
    if (!u || !cli || event_get_str(ev, "user"))
        return 0;
    int hold = ev->held;                /* cloud_users_holds, asked once by sink_deliver */
    if (user_lookup(u, cli, key, ev_time(ev, "first.seen"), hold ? ev->text : NULL) || !hold)
        return hold;
    u->cfg.local_publish(u->cfg.local_arg, "flow.end", ev->text, ev->text_len);   /* out of memory */
    return 0;
}

void cloud_users_heard_logout(struct cloud_users *u, const char *ip, const char *user, uint64_t logout_us)
{
    if (!u || !ip || !user || !*ip || !*user || strlen(ip) >= IP_TEXT_MAX)
        return;
    struct ucache_entry *e = ucache_slot(u, ip);
    if (!e->pending && strcmp(e->ip, ip) == 0 && e->user && strcmp(e->user, user) == 0 && !e->logout_us) {
        e->logout_us = logout_us;
        e->expires_ms = cloud_wall_ms() + grace_ms(u);
    }
    if (u->cfg.departed)
        u->cfg.departed(u->cfg.arg, ip, user, logout_us, grace_ms(u));
}

/* ------------------------------------------------------------------ RADIUS */

void cloud_send_hset_event(struct cloud_engine *eng, const char *key, const struct event *ev,
                           int (*skip)(const char *name), const char *extra_name, const char *extra_val)
{
    const char *argv[4 + 2 * EVENT_FIELDS_MAX];
    size_t lens[4 + 2 * EVENT_FIELDS_MAX];
    char nums[EVENT_FIELDS_MAX][EVENT_NUM_TEXT_MAX];
    int argc = 2;
    argv[0] = "HSET";
    lens[0] = 4;
    argv[1] = key;
    lens[1] = strlen(key);
    for (int i = 0; i < ev->nfields; i++) {
        const char *name = event_field_name(ev, &ev->f[i]);
        if (skip(name))
            continue;
        argv[argc] = name;
        lens[argc] = strlen(name);
        argv[argc + 1] = event_field_text(ev, &ev->f[i], nums[i], &lens[argc + 1]);
        argc += 2;
    }
    if (extra_name) {
        argv[argc] = extra_name;
        lens[argc++] = strlen(extra_name);
        argv[argc] = extra_val;
        lens[argc++] = strlen(extra_val);
    }
    if (argc > 2)
        cloud_engine_send(eng, argc, argv, lens);
}

static int is_user_or_acct(const char *name)
{
    return strcmp(name, "user") == 0 || strcmp(name, "acct") == 0;
}

void cloud_users_radius(struct cloud_users *u, int login, const struct event *ev)
{
    const char *user = event_get_str(ev, "user"), *ip = event_get_str(ev, "ip"), *acct = event_get_str(ev, "acct");
    char ukey[320], ikey[96], hkey[96], ts[32];
    if (!u || !user || !*user || snprintf(ukey, sizeof(ukey), "user.%s", user) >= (int)sizeof(ukey))
        return;
    int interim = acct && strcmp(acct, "interim") == 0;
    uint64_t t = ev->ts_us ? ev->ts_us / 1000 : cloud_wall_ms();     /* packet time */
    snprintf(ts, sizeof(ts), "%" PRIu64 ".%03u", t / 1000, (unsigned)(t % 1000));
    const char *stamp = interim ? NULL : login ? "login" : "logout";
    if (stamp && event_field_get(ev, stamp))
        stamp = NULL;
    cloud_send_hset_event(u->eng, ukey, ev, is_user_or_acct, stamp, ts);
    if (interim)                        /* the first login time seen stays */
        send4(u, 4, "HSETNX", ukey, "login", ts);
    int has_ip = ip && *ip && snprintf(ikey, sizeof(ikey), "ipuser.%s", ip) < (int)sizeof(ikey) &&
                 snprintf(hkey, sizeof(hkey), "ip.%s", ip) < (int)sizeof(hkey);
    uint64_t grace = u->cfg.user_grace ? u->cfg.user_grace : 1;
    if (login) {
        if (has_ip) {
            send4(u, 3, "SET", ikey, user, NULL);
            send4(u, 4, "HSET", hkey, "user", user);
            cloud_send_expire(u->eng, hkey, u->cfg.host_ttl);
            user_seen(u, ip, user, 0);
        }
        send4(u, 2, "PERSIST", ukey, NULL, NULL);
        return;
    }
    cloud_send_expire(u->eng, ukey, grace);
    if (has_ip) {
        cloud_send_expire(u->eng, ikey, grace);
        user_seen(u, ip, user, ev->ts_us ? ev->ts_us : t * 1000);
    }
}

/* ------------------------------------------------------------------ life cycle */

struct cloud_users *cloud_users_create(struct cloud_engine *eng, const struct cloud_users_config *cfg)
{
    struct cloud_users *u = calloc(1, sizeof(*u));
    if (u)
        u->cache = calloc(UCACHE_SIZE, sizeof(*u->cache));
    if (!u || !u->cache) {
        free(u);
        return NULL;
    }
    u->eng = eng;
    u->cfg = *cfg;
    return u;
}

void cloud_users_reconfigure(struct cloud_users *u, const struct cloud_users_config *cfg)
{
    if (!u)
        return;
    u->cfg.host_ttl = cfg->host_ttl;
    u->cfg.user_grace = cfg->user_grace;
}

void cloud_users_stats(const struct cloud_users *u, struct cloud_users_stats *out)
{
    *out = u ? u->st : (struct cloud_users_stats){ 0 };
}

void cloud_users_destroy(struct cloud_users *u)
{
    if (!u)
        return;
    for (int i = 0; i < UCACHE_SIZE; i++)
        free(u->cache[i].user);
    free(u->cache);
    free(u);
}
