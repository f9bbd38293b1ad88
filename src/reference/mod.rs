//! Reference data: ICD-10-CM code sets, wellness prefixes, MUE table and payer policy.

pub mod icd10;
pub mod mue;
pub mod ncci;
pub mod policy;
