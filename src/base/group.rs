//! Grouping and joining item numbers by key, in parallel: the mechanism linking and the rules share.

use std::hash::{Hash, Hasher};

use rayon::prelude::*;
use rustc_hash::FxHasher;
use smallvec::SmallVec;

use crate::base::sort::{sort_by_rank, Lead};

pub fn hash_of<K: Hash>(key: K) -> u64 {
    let mut h = FxHasher::default();
    key.hash(&mut h);
    h.finish()
}

pub type Group = SmallVec<[u32; 4]>;

/// Items `0..n` grouped by `key`, each group in ascending order. Sorting 64-bit hashes of the keys
/// is fast and parallel; runs of equal hashes are then checked key by key, so that two keys that
/// happen to share a hash still form two groups. Groups come out in hash order.
pub fn group_by<K: Hash + Ord + Send>(
    n: usize,
    key: impl Fn(u32) -> K + Sync,
) -> (Vec<u64>, Vec<Group>) {
    group_by_with(n, &key, |i| hash_of(key(i)))
}

/// `group_by` with each item's hash given (`hash(i)` = `hash_of` of its key as `group_by` would
/// take it): the same groups in the same order.
fn group_by_with<K: Ord + Send>(
    n: usize,
    key: &(impl Fn(u32) -> K + Sync),
    hash: impl Fn(u32) -> u64 + Sync,
) -> (Vec<u64>, Vec<Group>) {
    // inputs usually list a claim's lines, a patient's rows, together: runs of equal neighbours
    // are found in one sequential pass, and only the runs are sorted and checked key by key
    // (a check reads its keys at random places in the file: few runs, few such reads)
    let starts: Vec<u32> = (0..n as u32)
        .into_par_iter()
        .with_min_len(1 << 14)
        .filter(|&i| i == 0 || key(i) != key(i - 1))
        .collect();
    if starts.len() * 4 > n * 3 {
        // mostly runs of one: grouping the items themselves costs less
        return group_by_hash(n, key, hash);
    }
    runs_by_hash(n, starts, key, hash)
}

/// As `group_by` for text keys, the same groups in the same order, each key's text read once (in
/// item order, with its hash): after that, neighbours and members of a hash group are compared by
/// `TextKey`, which holds a short key whole, instead of reading the text again at random places.
pub fn group_by_text<'t>(n: usize, key: impl Fn(u32) -> &'t str + Sync) -> (Vec<u64>, Vec<Group>) {
    let read: Vec<(u64, TextKey<'t>)> = (0..n as u32)
        .into_par_iter()
        .with_min_len(1 << 12)
        .map(|i| {
            let text = key(i);
            (hash_of(text), TextKey::new(text))
        })
        .collect();
    group_by_with(n, &|i: u32| read[i as usize].1, |i| read[i as usize].0)
}

/// A text key that compares as its text does: one of at most 15 bytes is packed whole into an
/// integer (its bytes from the top, its length in the last byte), so comparing two of them reads
/// no text; a longer one keeps its text.
#[derive(Clone, Copy, Debug)]
pub struct TextKey<'t> {
    /// The packed key, or 0 for a long key.
    packed: u128,
    long: &'t str,
}

impl<'t> TextKey<'t> {
    pub fn new(text: &'t str) -> TextKey<'t> {
        TextKey::packed_or(TextKey::pack(text), || text)
    }

    /// A text of at most 15 bytes packed whole, to keep beside what it was read with; 0 for a
    /// longer one.
    pub fn pack(text: &str) -> u128 {
        let b = text.as_bytes();
        if b.len() >= 16 {
            return 0;
        }
        let mut bytes = [0u8; 16];
        bytes[..b.len()].copy_from_slice(b);
        // the length + 1: the empty key is packed too, and no packed key is 0
        bytes[15] = b.len() as u8 + 1;
        u128::from_be_bytes(bytes)
    }

    /// The key of a text packed before (`pack`); `text` is read only when it was too long.
    pub fn packed_or(packed: u128, text: impl FnOnce() -> &'t str) -> TextKey<'t> {
        TextKey {
            packed,
            long: if packed == 0 { text() } else { "" },
        }
    }
}

impl PartialEq for TextKey<'_> {
    fn eq(&self, other: &Self) -> bool {
        // a packed key and a long one are never the same text
        self.packed == other.packed && (self.packed != 0 || self.long == other.long)
    }
}

impl Eq for TextKey<'_> {}

impl Ord for TextKey<'_> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        if self.packed != 0 && other.packed != 0 {
            // bytes from the top, zeros after them, then the length: the order of the texts
            return self.packed.cmp(&other.packed);
        }
        fn text<'a>(k: &'a TextKey<'_>, packed: &'a [u8; 16]) -> &'a [u8] {
            if k.packed != 0 {
                &packed[..packed[15] as usize - 1]
            } else {
                k.long.as_bytes()
            }
        }
        let (a, b) = (self.packed.to_be_bytes(), other.packed.to_be_bytes());
        text(self, &a).cmp(text(other, &b))
    }
}

impl PartialOrd for TextKey<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// As `group_by`, when the hash of every item's key was taken before (`hash(i)` = `hash_of(key(i))`)
/// and where runs of equal neighbours start is known (`starts_run(i)`, true at least wherever
/// `key(i) != key(i - 1)`, and for item 0): keys are then read only to tell apart runs that share
/// a hash. The same groups in the same order as `group_by`.
pub fn group_by_hashed_runs<K: Ord + Send>(
    n: usize,
    starts_run: impl Fn(u32) -> bool + Sync,
    hash: impl Fn(u32) -> u64 + Sync,
    key: impl Fn(u32) -> K + Sync,
) -> (Vec<u64>, Vec<Group>) {
    let starts: Vec<u32> = (0..n as u32)
        .into_par_iter()
        .with_min_len(1 << 14)
        .filter(|&i| i == 0 || starts_run(i))
        .collect();
    runs_by_hash(n, starts, &key, hash)
}

/// Items `0..n` whose runs start at `starts`, grouped by key; `hash(i)` is item `i`'s hash. Keys
/// are read only where two runs share a hash (however many runs there are: grouping the items
/// instead would read two keys of every run of several items).
fn runs_by_hash<K: Ord + Send>(
    n: usize,
    starts: Vec<u32>,
    key: &(impl Fn(u32) -> K + Sync),
    hash: impl Fn(u32) -> u64 + Sync,
) -> (Vec<u64>, Vec<Group>) {
    let run_key = |r: u32| key(starts[r as usize]);
    let (hashes, runs) = group_by_hash(starts.len(), &run_key, |r| hash(starts[r as usize]));
    let end = |r: u32| starts.get(r as usize + 1).copied().unwrap_or(n as u32);
    let groups = runs
        .into_par_iter()
        .map(|g| {
            if let [r] = g[..] {
                (starts[r as usize]..end(r)).collect()
            } else {
                g.iter().flat_map(|&r| starts[r as usize]..end(r)).collect()
            }
        })
        .collect();
    (hashes, groups)
}

fn group_by_hash<K: Ord + Send>(
    n: usize,
    key: &(impl Fn(u32) -> K + Sync),
    hash: impl Fn(u32) -> u64 + Sync,
) -> (Vec<u64>, Vec<Group>) {
    let mut hashed: Vec<(u64, u32)> = (0..n as u32)
        .into_par_iter()
        .map(|i| (hash(i), i))
        .collect();
    sort_by_rank(&mut hashed, |e| e.0);
    let groups: Vec<(u64, Group)> = hashed
        .par_chunk_by(|a, b| a.0 == b.0)
        .flat_map_iter(|run| {
            let h = run[0].0;
            let mut items: Group = run.iter().map(|(_, i)| *i).collect();
            if items.len() > 1 && items.iter().any(|&i| key(i) != key(items[0])) {
                items.sort_by(|&a, &b| key(a).cmp(&key(b)).then(a.cmp(&b)));
                let split: SmallVec<[(u64, Group); 1]> = items
                    .chunk_by(|&a, &b| key(a) == key(b))
                    .map(|g| (h, g.iter().copied().collect()))
                    .collect();
                return split;
            }
            // one group: no allocation beyond the group itself
            smallvec::smallvec![(h, items)]
        })
        .collect();
    groups.into_iter().unzip()
}

/// Items `0..n` grouped by an exact integer key; groups in key order.
pub fn groups_by_int<K: Ord + Copy + Send + Sync + Lead>(
    n: usize,
    key: impl Fn(usize) -> K + Sync,
) -> (Vec<K>, Vec<Group>) {
    let mut keyed: Vec<(K, u32)> = (0..n).into_par_iter().map(|i| (key(i), i as u32)).collect();
    sort_by_rank(&mut keyed, Lead::lead);
    keyed
        .par_chunk_by(|a, b| a.0 == b.0)
        .map(|run| (run[0].0, run.iter().map(|(_, i)| *i).collect::<Group>()))
        .unzip()
}

/// Join sorted `(key, id)` probes with sorted entries: `f` gets each probe's id and the range of
/// entries that compare equal to it. Chunks of probes are merged in parallel, each after one
/// binary search, so both arrays are read in order.
pub fn merge_join<P: Sync, E: Sync, R: Send>(
    probes: &[(P, u32)],
    entries: &[E],
    cmp: impl Fn(&P, &E) -> std::cmp::Ordering + Sync,
    f: impl Fn(u32, std::ops::Range<usize>) -> R + Sync,
) -> Vec<(u32, R)> {
    use std::cmp::Ordering::{Equal, Greater};
    probes
        .par_chunks(1 << 14)
        .flat_map_iter(|chunk| {
            let mut at = entries.partition_point(|e| cmp(&chunk[0].0, e) == Greater);
            let mut out = Vec::with_capacity(chunk.len());
            for (p, id) in chunk {
                while at < entries.len() && cmp(p, &entries[at]) == Greater {
                    at += 1;
                }
                let end = at
                    + entries[at..]
                        .iter()
                        .take_while(|e| cmp(p, e) == Equal)
                        .count();
                out.push((*id, f(*id, at..end)));
            }
            out
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_stay_exact_when_hashes_collide() {
        let keys = ["b", "a", "b", "c", "a", "b"];
        let key = |i: u32| keys[i as usize];
        // every key shares one hash: the groups must still be by key, items ascending
        let (_, groups) = group_by_hash(keys.len(), &key, |_| 7);
        let groups: Vec<Vec<u32>> = groups.into_iter().map(|g| g.to_vec()).collect();
        assert_eq!(groups, vec![vec![1, 4], vec![0, 2, 5], vec![3]]);
        let (_, groups) = group_by(keys.len(), key);
        let mut groups: Vec<Vec<u32>> = groups.into_iter().map(|g| g.to_vec()).collect();
        groups.sort();
        assert_eq!(groups, vec![vec![0, 2, 5], vec![1, 4], vec![3]]);
        // runs of equal neighbours are grouped as runs, and still by key
        let keys = ["a", "a", "b", "a", "c", "c", "b", "b"];
        let (_, groups) = group_by(keys.len(), |i: u32| keys[i as usize]);
        let mut groups: Vec<Vec<u32>> = groups.into_iter().map(|g| g.to_vec()).collect();
        groups.sort();
        assert_eq!(groups, vec![vec![0, 1, 3], vec![2, 6, 7], vec![4, 5]]);
    }

    #[test]
    fn text_keys_compare_as_their_texts() {
        let texts = [
            "",
            "a",
            "ab",
            "a\0",
            "a\0\0",
            "b",
            "P0026004222",
            "\u{ff}",
            "é",
            "abcdefghijklmn",
            "abcdefghijklmno",
            "abcdefghijklmnop",
            "abcdefghijklmnopq",
            "abcdefghijklmnoz",
            "abcdefghijklmo",
            "zzzzzzzzzzzzzzzzzzzz",
        ];
        for a in texts {
            for b in texts {
                let (ka, kb) = (TextKey::new(a), TextKey::new(b));
                assert_eq!(ka.cmp(&kb), a.cmp(b), "{a:?} {b:?}");
                assert_eq!(ka == kb, a == b, "{a:?} {b:?}");
            }
            // a key packed before is the same key, its text read only when it was too long
            let packed = TextKey::pack(a);
            assert_eq!(packed == 0, a.len() > 15, "{a:?}");
            let again = TextKey::packed_or(packed, || {
                assert_eq!(packed, 0, "a packed key's text is not read");
                a
            });
            assert_eq!(again.cmp(&TextKey::new(a)), std::cmp::Ordering::Equal);
        }
    }

    #[test]
    fn text_groups_are_group_by_groups() {
        // runs and scattered keys, short and long, one hash for all or their own
        let keys = [
            "P-2",
            "P-1",
            "P-1",
            "a-patient-id-of-20ch",
            "P-2",
            "",
            "a-patient-id-of-20ch",
            "P-1",
            "P-3",
            "P-3",
            "P-3",
            "",
        ];
        let key = |i: u32| keys[i as usize];
        assert_eq!(group_by_text(keys.len(), key), group_by(keys.len(), key));
        let read: Vec<TextKey> = keys.iter().map(|k| TextKey::new(k)).collect();
        let (_, collided) = group_by_hash(keys.len(), &|i: u32| read[i as usize], |_| 7);
        let (_, by_text) = group_by_hash(keys.len(), &key, |_| 7);
        assert_eq!(collided, by_text);
        // mostly runs
        let keys: Vec<String> = (0..200).map(|i| format!("P-{}", i / 7 % 11)).collect();
        let key = |i: u32| keys[i as usize].as_str();
        assert_eq!(group_by_text(keys.len(), key), group_by(keys.len(), key));
    }

    #[test]
    fn hashed_runs_group_as_group_by_does() {
        let keys = ["a", "a", "b", "a", "c", "c", "b", "b", "b", "a"];
        let key = |i: u32| keys[i as usize];
        let expect = group_by(keys.len(), key);
        // runs where the key changes, and more (a run may be cut anywhere), or every item its own
        let exact = |i: u32| keys[i as usize] != keys[i as usize - 1];
        for starts_run in [
            &exact as &(dyn Fn(u32) -> bool + Sync),
            &|i: u32| exact(i) || i.is_multiple_of(3),
            &|_| true,
        ] {
            let got = group_by_hashed_runs(keys.len(), starts_run, |i| hash_of(key(i)), key);
            assert_eq!(got, expect);
        }
        // two keys of one hash in neighbouring runs stay two groups
        let (_, groups) = group_by_hashed_runs(keys.len(), exact, |_| 7, key);
        let mut groups: Vec<Vec<u32>> = groups.into_iter().map(|g| g.to_vec()).collect();
        groups.sort();
        assert_eq!(groups, vec![vec![0, 1, 3, 9], vec![2, 6, 7, 8], vec![4, 5]]);
    }
}
