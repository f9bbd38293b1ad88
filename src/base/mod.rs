//! The ground floor: value types and small shared mechanisms. Nothing here imports the pipeline
//! (input, facts, rules, ledger, output); every stage builds on it.

pub mod foreign;
pub mod group;
pub mod hash;
pub mod text;
pub mod values;

/// A short normalised code (procedure code, modifier set, ICD-10 key): stored inline, no allocation.
pub type Code = compact_str::CompactString;
