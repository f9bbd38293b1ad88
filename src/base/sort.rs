//! Sorting a part's keys by spreading them over buckets first.
//!
//! Linking sorts arrays of a few hundred thousand integer keys many times a part (hashes of ids,
//! patient-and-date keys); a comparison sort of them was 12 % of a run's cpu. Their leading
//! integers spread evenly over their range (hashes, patients numbered densely), so one counting
//! pass and one scatter (both in parallel) put them into buckets by that integer (a few dozen
//! keys each for a part, up to 4096 buckets), and only the buckets are sorted, each on its own and
//! in parallel.

use rayon::prelude::*;

/// Elements per bucket aimed at: small enough to sort in the cache, large enough that the
/// bucket counts stay in it too.
const PER_BUCKET: usize = 32;

/// At most 2^12 buckets: the scatter's write positions stay in the cache.
const MAX_BITS: u32 = 12;

/// Below this, a plain sort.
const SMALL: usize = 1 << 13;

/// Sort `v` as `sort_unstable` does (for types whose equal values are alike, such as tuples of
/// integers), given `rank`: an integer that never decreases as the values grow (a < b implies
/// rank(a) <= rank(b)), such as a tuple's leading integer. Correct whatever the ranks; fast when
/// they spread over their range.
pub fn sort_by_rank<T: Ord + Copy + Send + Sync>(v: &mut Vec<T>, rank: impl Fn(&T) -> u64 + Sync) {
    let n = v.len();
    if n < SMALL {
        v.sort_unstable();
        return;
    }
    let (lo, hi) = v
        .par_iter()
        .with_min_len(1 << 14)
        .map(|x| (rank(x), rank(x)))
        .reduce(|| (u64::MAX, 0), |a, b| (a.0.min(b.0), a.1.max(b.1)));
    let span = hi - lo;
    // (2^17 buckets for 5M keys made the scatter a cache miss a key); larger buckets are fine
    let bits = (n / PER_BUCKET).max(2).ilog2().min(MAX_BITS);
    // buckets by the top `bits` bits of the span: the bucket order is the rank order
    let shift = (u64::BITS - span.leading_zeros()).saturating_sub(bits);
    let bucket = |x: &T| ((rank(x) - lo) >> shift) as usize;
    let buckets = (span >> shift) as usize + 1;
    // counted and scattered in parallel: each chunk of `v` writes its keys of a bucket into its
    // own stretch of that bucket (the chunks' counts, added in chunk order, place the stretches)
    let chunk = n.div_ceil(4 * rayon::current_num_threads()).max(1);
    let mut at: Vec<Vec<usize>> = v
        .par_chunks(chunk)
        .map(|c| {
            let mut count = vec![0usize; buckets];
            for x in c {
                count[bucket(x)] += 1;
            }
            count
        })
        .collect();
    // each count becomes the place its stretch starts
    let mut next = 0;
    for b in 0..buckets {
        for count in at.iter_mut() {
            let here = count[b];
            count[b] = next;
            next += here;
        }
    }
    let mut out: Vec<T> = Vec::with_capacity(n);
    let slots = SharedSlots(out.spare_capacity_mut().as_mut_ptr());
    v.par_chunks(chunk).zip(at).for_each(|(c, mut at)| {
        let slots = &slots;
        for x in c {
            let b = bucket(x);
            // SAFETY: `at[b]` runs over this chunk's own stretch of bucket b, inside 0..n; no
            // two chunks' stretches overlap, so each slot is written once, by one thread
            unsafe { (*slots.0.add(at[b])).write(*x) };
            at[b] += 1;
        }
    });
    // SAFETY: the stretches cover 0..n (the counts add up to n), each slot written once above
    unsafe { out.set_len(n) };
    out.par_chunk_by_mut(|a, b| bucket(a) == bucket(b))
        .for_each(|b| b.sort_unstable());
    *v = out;
}

/// The output's slots, written by several threads at places no two of them share.
struct SharedSlots<T>(*mut std::mem::MaybeUninit<T>);
// SAFETY: the threads write disjoint slots (see the scatter), and T is Send
unsafe impl<T: Send> Sync for SharedSlots<T> {}

/// A key's leading integer, as a rank for `sort_by_rank`: it never decreases as the key grows.
pub trait Lead {
    fn lead(&self) -> u64;
}

impl Lead for u64 {
    fn lead(&self) -> u64 {
        *self
    }
}

impl Lead for u32 {
    fn lead(&self) -> u64 {
        *self as u64
    }
}

impl<A: Lead, B> Lead for (A, B) {
    fn lead(&self) -> u64 {
        self.0.lead()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check<T: Ord + Copy + Send + Sync + std::fmt::Debug>(
        v: Vec<T>,
        rank: impl Fn(&T) -> u64 + Sync,
    ) {
        let mut want = v.clone();
        want.sort_unstable();
        let mut got = v;
        sort_by_rank(&mut got, rank);
        assert_eq!(got, want);
    }

    /// Even hashes, ranks bunched at one end, all alike, the extremes of u64, a rank that says
    /// nothing (always 0), and sizes around the plain-sort threshold: each the plain sort's order.
    #[test]
    fn sorts_as_sort_unstable_whatever_the_ranks() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for n in [0, 1, SMALL - 1, SMALL, SMALL + 1, 100_000] {
            let hashes: Vec<(u64, u32)> = (0..n as u32).map(|i| (next(), i)).collect();
            check(hashes.clone(), |e| e.0);
            check(hashes.clone(), |_| 0);
            let bunched: Vec<(u64, u32)> = hashes
                .iter()
                .map(|&(h, i)| ((h % 1000).pow(3), i))
                .collect();
            check(bunched, |e| e.0);
            let alike: Vec<(u64, u32)> = (0..n as u32).map(|i| (7, i % 3)).collect();
            check(alike, |e| e.0);
            let extremes: Vec<(u64, u32)> = (0..n as u32)
                .map(|i| (if next() % 2 == 0 { u64::MAX } else { 0 }, i))
                .collect();
            check(extremes, |e| e.0);
            let days: Vec<((u64, u32), u32)> = (0..n as u32)
                .map(|i| {
                    (
                        (
                            ((next() % 5000) << 32) | (next() % 800),
                            (next() % 9) as u32,
                        ),
                        i,
                    )
                })
                .collect();
            check(days, |e| e.0 .0);
        }
    }
}
