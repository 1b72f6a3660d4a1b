/* latency.h - the fixed log-scale latency histogram of aggregates (service.*, rtt.*): counters that add up across probes and time (pure code, any thread). */
#ifndef FC_LATENCY_H
#define FC_LATENCY_H

#include <stdint.h>

/*
 * A latency aggregate is a sum, a count and one counter per bucket, so the
 * same fields of many probes (or of a probe over time) add up with HINCRBY
 * and a reader gets averages and percentiles from the totals. The buckets
 * are per bucket, not cumulative: a sample of v microseconds counts once, in
 * the first bucket whose bound (milliseconds) is at least v / 1000, or in
 * "inf" past the last bound. Fields: <what>.us.sum, <what>.count and
 * <what>.le.<bound> (bounds 1 2 5 10 20 50 100 200 500 1000 2000 5000 and
 * inf), a bucket shown only once it counted something. A quantile is read by
 * adding the buckets up in order (examples/latency_report.py).
 */

#define LAT_BUCKETS 13               /* 12 bounds and inf */

struct lat_hist {
    uint64_t sum_us, count;
    uint64_t le[LAT_BUCKETS];
};

/* The bucket a sample of us microseconds counts in. Pure. */
static inline unsigned lat_bucket_of(uint64_t us)
{
    static const uint32_t bound_ms[LAT_BUCKETS - 1] = { 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000 };
    unsigned i = 0;
    while (i < LAT_BUCKETS - 1 && us > (uint64_t)bound_ms[i] * 1000)
        i++;
    return i;
}

/* The name of bucket i in field names ("1" ... "5000", "inf"); a static
 * string. Pure. */
static inline const char *lat_bucket_name(unsigned i)
{
    static const char *const names[LAT_BUCKETS] = { "1", "2", "5", "10", "20", "50", "100", "200", "500",
                                                    "1000", "2000", "5000", "inf" };
    return names[i < LAT_BUCKETS ? i : LAT_BUCKETS - 1];
}

/* Counts one sample of us microseconds in h. Pure. */
static inline void lat_hist_add(struct lat_hist *h, uint64_t us)
{
    h->sum_us += us;
    h->count++;
    h->le[lat_bucket_of(us)]++;
}

#endif
