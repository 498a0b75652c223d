/* histogram: latencies in fixed log-linear buckets (HDR histogram style).
 *
 * Values are microseconds. Below 64 every value has its own bucket; above,
 * each power of two [2^k, 2^(k+1)) is cut into 32 equal buckets, so a
 * reported percentile is within 1/32 (3 %) of the true one. The struct is
 * a fixed block of counters: merging two is adding them, and a worker
 * process sends its own to the parent as plain bytes. */
#ifndef XMPPLOAD_HISTOGRAM_H
#define XMPPLOAD_HISTOGRAM_H

#include <stdint.h>

#define HISTOGRAM_LINEAR 64 /* values 0..63 one bucket each */
#define HISTOGRAM_SUB 32    /* buckets per power of two above */
#define HISTOGRAM_POWERS 36 /* up to 2^41 us: 25 days */
#define HISTOGRAM_BUCKETS (HISTOGRAM_LINEAR + HISTOGRAM_POWERS * HISTOGRAM_SUB)

struct histogram {
	uint64_t count;
	uint64_t max; /* exact */
	uint64_t buckets[HISTOGRAM_BUCKETS];
};

void histogram_add(struct histogram *h, uint64_t us);
void histogram_merge(struct histogram *into, const struct histogram *from);
/* The value at quantile q (0 < q <= 1): the upper edge of the bucket that
 * holds it, never above the maximum; 0 when empty. */
uint64_t histogram_quantile(const struct histogram *h, double q);

#endif
