//! A hash written out here rather than taken from a crate: the nightly state stores where a
//! patient's records are by it, so it must give the same number in every build, on every machine.

/// FNV-1a over the bytes, then SplitMix64's finaliser (FNV alone leaves short keys' high bits
/// poorly mixed, and the parts and the state's buckets are cut by the high bits).
pub fn stable_hash(bytes: &[u8]) -> u64 {
    stable_hash_from(0xcbf2_9ce4_8422_2325, bytes)
}

fn stable_hash_from(basis: u64, bytes: &[u8]) -> u64 {
    let mut h = basis;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    mix(h)
}

fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A 128-bit identity of a claim line (claim_id, line_no): two hashes of different bases, so that
/// two different lines share one only by a chance of about 2^-128 a pair.
pub fn line_key(claim_id: &str, line_no: u32) -> u128 {
    let mut bytes = Vec::with_capacity(claim_id.len() + 5);
    bytes.extend_from_slice(claim_id.as_bytes());
    bytes.push(0xff); // never in UTF-8: "C-1" + 12 and "C-11" + 2 stay apart
    bytes.extend_from_slice(&line_no.to_le_bytes());
    let a = stable_hash(&bytes);
    let b = stable_hash_from(0x6c62_272e_07bb_0142, &bytes);
    ((a as u128) << 64) | b as u128
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_never_moves() {
        // written down once: a change here moves every recorded patient to another bucket
        assert_eq!(stable_hash(b""), mix(0xcbf2_9ce4_8422_2325));
        assert_eq!(stable_hash(b"P-1"), 0x46e2_50a1_d0e5_f487);
        assert_ne!(line_key("C-1", 12), line_key("C-11", 2));
        assert_eq!(line_key("C-1", 1), line_key("C-1", 1));
    }
}
