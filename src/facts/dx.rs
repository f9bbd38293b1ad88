//! A line's diagnosis codes looked up in the code set of its service date (SPEC §5, §8
//! "Diagnosis codes"). Computed line by line as the rules run, not stored: it is cheap and a
//! batch has millions of lines.

use smallvec::SmallVec;

use crate::base::values::{codes, icd_format_ok, icd_key};
use crate::model::Code;
use crate::reference::icd10::{CodeSet, CodeSets, Lookup};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeStatus {
    /// Not ICD-10-CM syntax: not looked up.
    InvalidFormat,
    /// Not in the code set.
    Unknown,
    /// In the code set as a header, not a billable leaf.
    Header,
    Billable,
}

/// One code of the line: as written (trimmed, upper-cased), its dot-less key and what the set says.
#[derive(Debug)]
pub struct DxCode {
    pub code: Code,
    /// Empty when the code is not ICD-10-CM syntax.
    pub key: Code,
    pub status: CodeStatus,
}

/// The diagnosis codes of one line, in the order written.
pub struct LineDx<'a> {
    pub codes: SmallVec<[DxCode; 3]>,
    /// The code set in force on the service date, or the nearest loaded one.
    pub set: &'a CodeSet,
    /// Whether `set` covers the service date.
    pub covered: bool,
}

impl<'a> LineDx<'a> {
    pub fn new(sets: &'a CodeSets, field: &str, date: crate::base::values::Day) -> LineDx<'a> {
        let (set_idx, covered) = sets.for_day(date);
        let set = &sets.sets[set_idx];
        let codes = codes(field)
            .map(|code| {
                if !icd_format_ok(&code) {
                    return DxCode {
                        code,
                        key: Code::default(),
                        status: CodeStatus::InvalidFormat,
                    };
                }
                let key = icd_key(&code);
                let status = match set.lookup(&key) {
                    Lookup::Billable => CodeStatus::Billable,
                    Lookup::Header => CodeStatus::Header,
                    Lookup::Unknown => CodeStatus::Unknown,
                };
                DxCode { code, key, status }
            })
            .collect();
        LineDx {
            codes,
            set,
            covered,
        }
    }

    /// The codes with one status, in the order written.
    pub fn with(&self, status: CodeStatus) -> impl Iterator<Item = &DxCode> + '_ {
        self.codes.iter().filter(move |c| c.status == status)
    }

    pub fn has(&self, status: CodeStatus) -> bool {
        self.with(status).next().is_some()
    }
}
