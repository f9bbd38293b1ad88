//! How the state keeps the lines of a run: in blocks, one per run and bucket of patients (the top
//! 12 bits of the patient's stable hash, the bits `--parts` cuts by), each holding its records one
//! after another. A part reads the blocks of its buckets in one range, and a night writes one
//! block per bucket: measured at 10M lines, a row per line in SQLite's B-trees took 26 s to write
//! and 25 s to read back; blocks take a fraction of that (BENCHMARKS.md).

use crate::base::hash::stable_hash;
use crate::base::values::Day;

/// Buckets are the top `BUCKET_BITS` of the patient's hash.
pub const BUCKET_BITS: u32 = 12;

pub fn bucket_of(patient: &str) -> i64 {
    (stable_hash(patient.as_bytes()) >> (64 - BUCKET_BITS)) as i64
}

/// One recorded claim line (SPEC §10 "What is recorded"; its outcome is kept beside the block).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    pub patient_id: &'a str,
    pub claim_id: &'a str,
    pub line_no: u32,
    pub date: Day,
    pub cpt: &'a str,
    pub modifiers: &'a str,
    pub units: i64,
    /// Millionths of a currency unit.
    pub charge: i64,
    pub payer_type: &'a str,
    pub rendering_npi: &'a str,
    pub rx_id: &'a str,
}

fn put_uint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push(v as u8 | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

fn put_int(buf: &mut Vec<u8>, v: i64) {
    put_uint(buf, ((v << 1) ^ (v >> 63)) as u64);
}

fn put_str(buf: &mut Vec<u8>, s: &str) {
    put_uint(buf, s.len() as u64);
    buf.extend_from_slice(s.as_bytes());
}

/// Append a record to a block's data.
pub fn put(buf: &mut Vec<u8>, r: &Record) {
    put_str(buf, r.patient_id);
    put_str(buf, r.claim_id);
    put_uint(buf, r.line_no as u64);
    put_int(buf, r.date as i64);
    put_str(buf, r.cpt);
    put_str(buf, r.modifiers);
    put_int(buf, r.units);
    put_int(buf, r.charge);
    put_str(buf, r.payer_type);
    put_str(buf, r.rendering_npi);
    put_str(buf, r.rx_id);
}

/// A block's data could not be read back: the file was changed by something else than claimscrub.
#[derive(Debug)]
pub struct Damaged;

/// The records of a block's data, in order.
pub struct Records<'a> {
    data: &'a [u8],
    at: usize,
}

pub fn records(data: &[u8]) -> Records<'_> {
    Records { data, at: 0 }
}

impl<'a> Records<'a> {
    fn uint(&mut self) -> Result<u64, Damaged> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self.data.get(self.at).ok_or(Damaged)?;
            self.at += 1;
            v |= ((b & 0x7f) as u64) << shift;
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(Damaged)
    }

    fn int(&mut self) -> Result<i64, Damaged> {
        let u = self.uint()?;
        Ok((u >> 1) as i64 ^ -((u & 1) as i64))
    }

    fn text(&mut self) -> Result<&'a str, Damaged> {
        let n = self.uint()? as usize;
        let end = self.at.checked_add(n).ok_or(Damaged)?;
        let bytes = self.data.get(self.at..end).ok_or(Damaged)?;
        self.at = end;
        std::str::from_utf8(bytes).map_err(|_| Damaged)
    }

    fn record(&mut self) -> Result<Record<'a>, Damaged> {
        Ok(Record {
            patient_id: self.text()?,
            claim_id: self.text()?,
            line_no: u32::try_from(self.uint()?).map_err(|_| Damaged)?,
            date: i32::try_from(self.int()?).map_err(|_| Damaged)?,
            cpt: self.text()?,
            modifiers: self.text()?,
            units: self.int()?,
            charge: self.int()?,
            payer_type: self.text()?,
            rendering_npi: self.text()?,
            rx_id: self.text()?,
        })
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<Record<'a>, Damaged>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.at >= self.data.len() {
            return None;
        }
        let r = self.record();
        if r.is_err() {
            self.at = self.data.len(); // one error, then the end
        }
        Some(r)
    }
}

/// A block's keys: 16 bytes a record, the record's `line_key`.
pub fn key_at(keys: &[u8], i: usize) -> u128 {
    u128::from_le_bytes(keys[i * 16..i * 16 + 16].try_into().expect("16 bytes"))
}

/// A block being written: its records, their keys and outcomes.
#[derive(Default)]
pub struct BlockData {
    pub n: usize,
    pub keys: Vec<u8>,
    pub held: Vec<u8>,
    pub data: Vec<u8>,
}

impl BlockData {
    pub fn push(&mut self, r: &Record, held: bool) {
        self.n += 1;
        self.keys
            .extend_from_slice(&crate::base::hash::line_key(r.claim_id, r.line_no).to_le_bytes());
        self.held.push(held as u8);
        put(&mut self.data, r);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec<'a>(patient: &'a str, claim: &'a str, line_no: u32) -> Record<'a> {
        Record {
            patient_id: patient,
            claim_id: claim,
            line_no,
            date: 20_000,
            cpt: "97140",
            modifiers: "GP;KX",
            units: -3,
            charge: 45_000_000,
            payer_type: "medicare",
            rendering_npi: "1234567893",
            rx_id: "",
        }
    }

    #[test]
    fn records_come_back_as_written() {
        let mut b = BlockData::default();
        let rs = [rec("P-1", "C-1", 1), rec("P-é", "C-2", 300), rec("", "", 0)];
        for (i, r) in rs.iter().enumerate() {
            b.push(r, i == 1);
        }
        let back: Vec<Record> = records(&b.data).map(|r| r.unwrap()).collect();
        assert_eq!(back, rs);
        assert_eq!(b.held, [0, 1, 0]);
        assert_eq!(key_at(&b.keys, 1), crate::base::hash::line_key("C-2", 300));
    }

    #[test]
    fn damaged_data_is_an_error_not_a_panic() {
        let mut b = BlockData::default();
        b.push(&rec("P-1", "C-1", 1), false);
        for cut in 0..b.data.len() {
            let got: Vec<_> = records(&b.data[..cut]).collect();
            assert!(got.iter().all(|r| r.is_err()) && got.len() <= 1, "{cut}");
        }
        assert!(records(&[0xff; 12]).next().unwrap().is_err());
    }

    #[test]
    fn buckets_follow_the_parts() {
        // a bucket is a range of the hash, as a part is: its patients fall in one or two parts
        for parts in [1, 2, 3, 7, 8] {
            let mut seen: std::collections::HashMap<i64, std::collections::BTreeSet<usize>> =
                Default::default();
            for i in 0..20_000 {
                let p = format!("P-{i}");
                seen.entry(bucket_of(&p))
                    .or_default()
                    .insert(crate::input::table::part_of_key(&p, parts));
            }
            assert!(seen.values().all(|s| s.len() <= 2), "{parts}");
        }
    }
}

/// The keys a night records, to ask of every earlier record whether the night records it again.
/// A sorted array with an index of its top bits: a lookup reads one or two cache lines, where a
/// plain binary search over 10M keys missed the cache ~20 times (measured: 20 s at 10M lines).
pub struct KeySet {
    keys: Vec<u128>,
    /// `index[p]`: the first key whose top `INDEX_BITS` are `p` or more.
    index: Vec<u32>,
}

const INDEX_BITS: u32 = 20;

impl KeySet {
    /// From keys sorted and without repeats.
    pub fn new(keys: Vec<u128>) -> KeySet {
        debug_assert!(keys.windows(2).all(|w| w[0] < w[1]));
        let mut index = vec![0u32; (1 << INDEX_BITS) + 1];
        let mut at = 0usize;
        for (p, slot) in index.iter_mut().enumerate() {
            while at < keys.len() && ((keys[at] >> (128 - INDEX_BITS)) as usize) < p {
                at += 1;
            }
            *slot = at as u32;
        }
        KeySet { keys, index }
    }

    pub fn contains(&self, k: u128) -> bool {
        let p = (k >> (128 - INDEX_BITS)) as usize;
        let range = &self.keys[self.index[p] as usize..self.index[p + 1] as usize];
        range.binary_search(&k).is_ok()
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

#[cfg(test)]
mod key_set_tests {
    use super::*;

    #[test]
    fn finds_what_it_holds_and_nothing_else() {
        let mut keys: Vec<u128> = (0..5000u32)
            .map(|i| crate::base::hash::line_key("C", i))
            .collect();
        keys.extend([0, 1, u128::MAX]);
        keys.sort_unstable();
        let set = KeySet::new(keys.clone());
        assert!(keys.iter().all(|&k| set.contains(k)));
        assert!((5000..10_000u32).all(|i| !set.contains(crate::base::hash::line_key("C", i))));
        assert!(!KeySet::new(Vec::new()).contains(7));
    }
}
