/* histogram: latencies in fixed log-linear buckets (see histogram.h). */
#include "histogram.h"

#include <math.h>

static unsigned bucket_of(uint64_t v)
{
	if (v < HISTOGRAM_LINEAR)
		return (unsigned)v;
	/* v in [2^m, 2^(m+1)), m >= 6: step 2^(m-5), 32 buckets per power */
	unsigned m = 63u - (unsigned)__builtin_clzll(v);
	unsigned shift = m - 5;
	unsigned power = m - 6;
	if (power >= HISTOGRAM_POWERS)
		return HISTOGRAM_BUCKETS - 1;
	return HISTOGRAM_LINEAR + power * HISTOGRAM_SUB +
	       (unsigned)((v >> shift) - HISTOGRAM_SUB);
}

/* The largest value that falls in bucket b. */
static uint64_t bucket_top(unsigned b)
{
	if (b < HISTOGRAM_LINEAR)
		return b;
	unsigned power = (b - HISTOGRAM_LINEAR) / HISTOGRAM_SUB;
	unsigned sub = (b - HISTOGRAM_LINEAR) % HISTOGRAM_SUB;
	unsigned shift = power + 1;
	return ((uint64_t)(HISTOGRAM_SUB + sub + 1) << shift) - 1;
}

void histogram_add(struct histogram *h, uint64_t us)
{
	h->buckets[bucket_of(us)]++;
	h->count++;
	if (us > h->max)
		h->max = us;
}

void histogram_merge(struct histogram *into, const struct histogram *from)
{
	for (unsigned b = 0; b < HISTOGRAM_BUCKETS; b++)
		into->buckets[b] += from->buckets[b];
	into->count += from->count;
	if (from->max > into->max)
		into->max = from->max;
}

uint64_t histogram_quantile(const struct histogram *h, double q)
{
	if (h->count == 0)
		return 0;
	uint64_t rank = (uint64_t)ceil(q * (double)h->count);
	if (rank < 1)
		rank = 1;
	uint64_t seen = 0;
	for (unsigned b = 0; b < HISTOGRAM_BUCKETS; b++) {
		seen += h->buckets[b];
		if (seen >= rank) {
			uint64_t top = bucket_top(b);
			return top < h->max ? top : h->max;
		}
	}
	return h->max;
}
