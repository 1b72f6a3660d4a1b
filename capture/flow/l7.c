/* l7.c - nDPI 4.2 glue: per-thread detection modules, per-flow state freed once detection is final (capture threads). */
#include "capture/flow/l7.h"

#include <ndpi_api.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "capture/cache/cache.h"
#include "capture/flow/l7_quick.h"
#include "capture/flow/l7_tcp.h"

/* The category a fresh detection state starts with (see l7_flow_packet). */
#define L7_CATEGORY_AHEAD NDPI_PROTOCOL_CATEGORY_NETWORK

/* Packets after which detection gives up, as ndpiReader does. */
enum { L7_MAX_TCP_PKTS = 80, L7_MAX_UDP_PKTS = 24 };
_Static_assert(L7_MAX_TCP_PKTS <= UINT8_MAX && L7_MAX_UDP_PKTS <= UINT8_MAX,
               "struct flow counts them in 8 bits (detect_pkts)");

/* Detection states a module keeps for reuse: a malloc and free of one per
 * flow cost as much as handling a short packet (BENCHMARKS.md, "Design
 * measurements"). */
enum { L7_SPARE_MAX = 256 };

struct l7_module {
    struct ndpi_detection_module_struct *ndpi;
    struct ndpi_flow_struct *spare[L7_SPARE_MAX];
    unsigned spare_n;
    struct l7_quick quick;           /* first packets answered without nDPI's flow state */
    struct l7_tcp tcp;               /* payload-less TCP segments accounted without its dissectors */
};

static char *l7_names[L7_MAX];
static unsigned l7_names_n;
/* The module l7_names_init built, handed to the first l7_module_create
 * (building one costs as much as reading ~10k packets). */
static _Atomic(struct ndpi_detection_module_struct *) l7_spare;

/*
 * nDPI 4.2 runs its domain-generation-algorithm check (ndpi_check_dga_name:
 * bigram statistics) on every DNS query name, HTTP Host and TLS SNI, a large
 * share of all the work on a mixed capture (BENCHMARKS.md, "Design
 * measurements"). Its answer only sets
 * a flow risk, which flowcached never reads, except in one place: the TLS
 * ClientHello, which calls a flow Tor when the check fires on an SNI that
 * starts with "www." and ends in ".com" or ".net". nDPI lets a program install
 * its own check (ndpi_dga_function); l7_dga_check answers 0 at once for names
 * that do not start with "www." and hands the others to nDPI's own check
 * (with the same module and flow the caller passed, set by the capture
 * thread around each nDPI call), so every detection stays what nDPI alone
 * would give. To reach nDPI's check it clears ndpi_dga_function for the time
 * of the call, under l7_dga_lock; a capture thread that reads the cleared
 * pointer meanwhile simply runs nDPI's own check: the same answer.
 */
static _Thread_local struct ndpi_detection_module_struct *l7_cur_ndpi;
static _Thread_local struct ndpi_flow_struct *l7_cur_flow;
static pthread_mutex_t l7_dga_lock = PTHREAD_MUTEX_INITIALIZER;

static int l7_dga_check(const char *name, int is_hostname)
{
    if (!name || strncmp(name, "www.", 4) != 0 || !l7_cur_ndpi)
        return 0;
    pthread_mutex_lock(&l7_dga_lock);
    __atomic_store_n(&ndpi_dga_function, NULL, __ATOMIC_SEQ_CST);
    int rc = ndpi_check_dga_name(l7_cur_ndpi, l7_cur_flow, (char *)name, (u_int8_t)is_hostname);
    __atomic_store_n(&ndpi_dga_function, l7_dga_check, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&l7_dga_lock);
    return rc;
}

static struct ndpi_detection_module_struct *l7_ndpi_new(void)
{
    struct ndpi_detection_module_struct *n = ndpi_init_detection_module(ndpi_no_prefs);
    if (!n)
        return NULL;
    NDPI_PROTOCOL_BITMASK all;
    NDPI_BITMASK_SET_ALL(all);
    ndpi_set_protocol_detection_bitmask2(n, &all);
    ndpi_finalize_initialization(n);
    return n;
}

int l7_names_init(void)
{
    struct ndpi_detection_module_struct *n = l7_ndpi_new();
    if (!n)
        return -1;
    unsigned total = ndpi_get_num_supported_protocols(n);
    if (total > L7_MAX)
        total = L7_MAX;
    for (unsigned i = 0; i < total; i++) {
        const char *name = ndpi_get_proto_name(n, (u_int16_t)i);
        l7_names[i] = strdup(name ? name : "Unknown");
    }
    l7_names_n = total;
    __atomic_store_n(&ndpi_dga_function, l7_dga_check, __ATOMIC_SEQ_CST);
    n = atomic_exchange(&l7_spare, n);
    if (n)
        ndpi_exit_detection_module(n);
    return 0;
}

void l7_names_free(void)
{
    struct ndpi_detection_module_struct *n = atomic_exchange(&l7_spare, NULL);
    if (n)
        ndpi_exit_detection_module(n);
    for (unsigned i = 0; i < l7_names_n; i++) {
        free(l7_names[i]);
        l7_names[i] = NULL;
    }
    l7_names_n = 0;
}

const char *l7_name(unsigned id)
{
    if (id < l7_names_n && l7_names[id])
        return l7_names[id];
    return "Unknown";
}

unsigned l7_count(void)
{
    return l7_names_n;
}

int l7_id_by_name(const char *name, size_t len)
{
    for (unsigned i = 0; i < l7_names_n; i++)
        if (l7_names[i] && strlen(l7_names[i]) == len && memcmp(l7_names[i], name, len) == 0)
            return (int)i;
    return -1;
}

struct l7_module *l7_module_create(void)
{
    struct l7_module *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->ndpi = atomic_exchange(&l7_spare, NULL);
    if (!m->ndpi)
        m->ndpi = l7_ndpi_new();
    if (!m->ndpi) {
        free(m);
        return NULL;
    }
    l7_quick_init(&m->quick, m->ndpi);
    l7_tcp_init(&m->tcp, m->ndpi);
    return m;
}

void l7_module_destroy(struct l7_module *m)
{
    if (!m)
        return;
    while (m->spare_n > 0)
        ndpi_free(m->spare[--m->spare_n]);
    ndpi_exit_detection_module(m->ndpi);
    free(m);
}

#ifdef L7_PROVE
/*
 * Proof build (make BUILD=build/prove CFLAGS='-O2 -g -DL7_PROVE'): each flow's
 * detection state is followed by a second one that nDPI alone drives (every
 * packet, no category set ahead). At each packet the shortcuts' answer is
 * compared with nDPI alone's, and a segment l7_tcp_skip or l7_tcp_syn takes
 * is also run through nDPI on the real state, whose whole bytes must match
 * the shortcut's (L7_PROVE_DEBUG=1 in the environment prints the offsets of
 * differing bytes). At exit it prints how many packets and segments were compared and how many
 * differed.
 */
#include <stdio.h>
static _Atomic unsigned long l7_prove_pkts, l7_prove_iddiff, l7_prove_segs, l7_prove_segdiff;
static void l7_prove_report(void)
{
    fprintf(stderr, "l7 prove: %lu packets, %lu answers differ; l7_tcp: %lu segments, %lu differences\n",
            (unsigned long)l7_prove_pkts, (unsigned long)l7_prove_iddiff, (unsigned long)l7_prove_segs,
            (unsigned long)l7_prove_segdiff);
}
static struct ndpi_flow_struct *l7_prove_shadow(const struct flow *f)
{
    return (struct ndpi_flow_struct *)((char *)f->ndpi + ndpi_detection_get_sizeof_ndpi_flow_struct());
}
static ndpi_protocol l7_run(struct l7_module *m, struct ndpi_flow_struct *fs, const struct decoded_pkt *p,
                            uint16_t len, uint64_t ms);
static uint16_t l7_pick(ndpi_protocol p);
static uint16_t l7_prove(struct l7_module *m, struct flow *f, const struct decoded_pkt *p, uint16_t len,
                         uint64_t ms)
{
    static _Atomic int once;
    if (atomic_exchange(&once, 1) == 0)
        atexit(l7_prove_report);
    size_t sz = ndpi_detection_get_sizeof_ndpi_flow_struct();
    uint16_t alone = l7_pick(l7_run(m, l7_prove_shadow(f), p, len, ms));
    struct ndpi_flow_struct *copy = malloc(sz);
    if (!copy)
        abort();
    memcpy(copy, f->ndpi, sz);
    int took = p->l4_proto == IPPROTO_TCP
        && (l7_tcp_skip(&m->tcp, copy, p->l3, len, ms) || l7_tcp_syn(&m->tcp, &m->quick, copy, p->l3, len, ms));
    uint16_t id = l7_pick(l7_run(m, f->ndpi, p, len, ms));
    l7_prove_pkts++;
    l7_prove_iddiff += id != alone;
    if (took) {
        l7_prove_segs++;
        l7_prove_segdiff += memcmp(copy, f->ndpi, sz) != 0 || id != NDPI_PROTOCOL_UNKNOWN;
        if (getenv("L7_PROVE_DEBUG") && memcmp(copy, f->ndpi, sz) != 0)
            for (size_t b = 0; b < sz; b++)
                if (((uint8_t *)copy)[b] != ((uint8_t *)f->ndpi)[b])
                    fprintf(stderr, "diff at %zu: %02x vs %02x (pkts %u)\n", b, ((uint8_t *)copy)[b],
                            ((uint8_t *)f->ndpi)[b], f->ndpi->num_processed_pkts);
    }
    free(copy);
    return id;
}
#endif

/* ndpi_detection_process_packet on state fs, with
 * l7_cur_ndpi / l7_cur_flow (what the DGA hook above reads) set around it. */
static ndpi_protocol l7_run(struct l7_module *m, struct ndpi_flow_struct *fs, const struct decoded_pkt *p,
                            uint16_t len, uint64_t ms)
{
    l7_cur_ndpi = m->ndpi;
    l7_cur_flow = fs;
    ndpi_protocol r = ndpi_detection_process_packet(m->ndpi, fs, p->l3, len, ms);
    l7_cur_ndpi = NULL;
    l7_cur_flow = NULL;
    return r;
}

size_t l7_state_size(void)
{
#ifdef L7_PROVE
    return 2 * ndpi_detection_get_sizeof_ndpi_flow_struct();  /* the state, then nDPI alone's */
#else
    return ndpi_detection_get_sizeof_ndpi_flow_struct();
#endif
}

void l7_flow_release(struct flow *f)
{
    if (f->ndpi) {
#ifdef L7_PROVE
        ndpi_free_flow_data(l7_prove_shadow(f));
#endif
        ndpi_free_flow(f->ndpi);
        f->ndpi = NULL;
    }
}

/* Frees f's detection state (what nDPI allocated inside it, then the state
 * itself into m's spare list while it has room). */
static void l7_state_free(struct l7_module *m, struct cache *c, struct flow *f)
{
    if (f->ndpi) {
#ifdef L7_PROVE
        ndpi_free_flow_data(l7_prove_shadow(f));
#endif
        if (m->spare_n < L7_SPARE_MAX) {
            ndpi_free_flow_data(f->ndpi);
            m->spare[m->spare_n++] = f->ndpi;
            f->ndpi = NULL;
        } else {
            l7_flow_release(f);
        }
        budget_release(&c->budget, l7_state_size());
    }
    f->detect_done = 1;
}

static uint16_t l7_pick(ndpi_protocol p)
{
    uint16_t id = p.app_protocol != NDPI_PROTOCOL_UNKNOWN ? p.app_protocol : p.master_protocol;
    return id < L7_MAX ? id : NDPI_PROTOCOL_UNKNOWN;
}

/* A flow's first packet that l7_quick_answer can judge (the state's bytes
 * already reserved): sets f->l7 as nDPI would, releases the bytes and returns
 * 1; else 0 and nothing changed. */
static int l7_quick_first(struct l7_module *m, struct cache *c, struct flow *f,
                          const uint8_t *l3, uint16_t len)
{
    if (f->detect_pkts != 0 || f->key.l4proto != IPPROTO_UDP)
        return 0;
    int id = l7_quick_answer(&m->quick, l3, len);
    if (id <= NDPI_PROTOCOL_UNKNOWN || id >= L7_MAX)
        return 0;
    f->detect_pkts++;
    f->l7 = (uint16_t)id;
    budget_release(&c->budget, l7_state_size());
    f->detect_done = 1;
    return 1;
}


/* nDPI's answer for packet p (len bytes from its IP header, at ms) of f, whose
 * detection state exists; a payload-less TCP segment l7_tcp_skip can account
 * does not reach nDPI's dissectors. */
static uint16_t l7_detect(struct l7_module *m, struct flow *f, const struct decoded_pkt *p, uint16_t len,
                          uint64_t ms)
{
#ifdef L7_PROVE
    return l7_prove(m, f, p, len, ms);
#endif
    if (p->l4_proto == IPPROTO_TCP && p->payload_len == 0
        && (f->detect_pkts > 0 ? l7_tcp_skip(&m->tcp, f->ndpi, p->l3, len, ms)
                               : l7_tcp_syn(&m->tcp, &m->quick, f->ndpi, p->l3, len, ms)))
        return NDPI_PROTOCOL_UNKNOWN;
    return l7_pick(l7_run(m, f->ndpi, p, len, ms));
}

int l7_flow_packet(struct l7_module *m, struct cache *c, struct flow *f,
                   const struct decoded_pkt *p, uint64_t ts_us)
{
    if (f->detect_done || !p->l3 || p->l3_caplen == 0)
        return 0;
    uint16_t before = f->l7;
    uint32_t len = p->l3_caplen > 0xffff ? 0xffff : p->l3_caplen;
    if (!f->ndpi) {
        if (budget_reserve(&c->budget, l7_state_size()) != 0) {
            f->detect_done = 1;
            return 0;
        }
        if (l7_quick_first(m, c, f, p->l3, (uint16_t)len))
            return f->l7 != before;
        f->ndpi = m->spare_n > 0 ? m->spare[--m->spare_n] : ndpi_flow_malloc(l7_state_size());
        if (!f->ndpi) {
            budget_release(&c->budget, l7_state_size());
            f->detect_done = 1;
            return 0;
        }
        memset(f->ndpi, 0, l7_state_size());
        /* nDPI 4.2 reads a flow's category only to keep one set earlier:
         * set now, it skips ndpi_fill_protocol_category (a custom-category
         * automaton search on the host name) when detection ends. The
         * protocol ids never depend on it, and flowcached does not read it. */
        f->ndpi->category = L7_CATEGORY_AHEAD;
        /* Likewise its risk exceptions: each ndpi_set_risk would search the
         * host name in the risk-exception automaton and both addresses in
         * the risk address tree to mask the flow's risks, which flowcached
         * never reads; marked evaluated with no mask, it does not. No
         * protocol id depends on the risks (nDPI 4.2 reads them only to set
         * another risk, protocols/http.c). */
        f->ndpi->risk_mask = ~(ndpi_risk)0;
        f->ndpi->host_risk_mask_evaluated = 1;
        f->ndpi->ip_risk_mask_evaluated = 1;
    }
    uint16_t id = l7_detect(m, f, p, (uint16_t)len, ts_us / 1000);
    f->detect_pkts++;
    unsigned limit = f->key.l4proto == IPPROTO_TCP ? L7_MAX_TCP_PKTS : L7_MAX_UDP_PKTS;
    if (id != NDPI_PROTOCOL_UNKNOWN) {
        /* Final: nDPI's extra dissection (certificates, DNS answers) would
         * only feed metadata that flowcached's own dissectors extract. */
        f->l7 = id;
        l7_state_free(m, c, f);
    } else if (f->detect_pkts >= limit) {
        return l7_flow_finish(m, c, f);
    }
    return f->l7 != before;
}

int l7_flow_finish(struct l7_module *m, struct cache *c, struct flow *f)
{
    uint16_t before = f->l7;
    if (f->ndpi && f->l7 == NDPI_PROTOCOL_UNKNOWN) {
        u_int8_t guessed = 0;
        l7_cur_ndpi = m->ndpi;
        l7_cur_flow = f->ndpi;
        ndpi_protocol r = ndpi_detection_giveup(m->ndpi, f->ndpi, 1, &guessed);
#ifdef L7_PROVE
        l7_prove_pkts++;
        l7_prove_iddiff += l7_pick(ndpi_detection_giveup(m->ndpi, l7_prove_shadow(f), 1, &guessed)) != l7_pick(r);
#endif
        l7_cur_ndpi = NULL;
        l7_cur_flow = NULL;
        f->l7 = l7_pick(r);
    }
    l7_state_free(m, c, f);
    return f->l7 != before;
}
