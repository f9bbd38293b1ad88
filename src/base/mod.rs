//! The ground floor: value types and small shared mechanisms. Nothing here imports the pipeline
//! (input, facts, rules, ledger, output); every stage builds on it.

pub mod foreign;
pub mod group;
pub mod hash;
pub mod sort;
pub mod text;
pub mod values;

/// A short normalised code (procedure code, modifier set, ICD-10 key): stored inline, no allocation.
pub type Code = compact_str::CompactString;

/// Ask the cpu to bring the cache line of `bytes[at]` in ahead of its use (a hint: nothing happens
/// out of bounds or on other cpus). For reads at scattered places known in advance, such as a part's
/// records over a whole file, whose waits for memory otherwise come one after another.
#[inline(always)]
pub fn prefetch(bytes: &[u8], at: usize) {
    #[cfg(target_arch = "x86_64")]
    if at < bytes.len() {
        // SAFETY: prefetching only hints the cache and never faults; the address is in bounds
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                bytes.as_ptr().add(at) as *const i8,
            )
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (bytes, at);
}
