//! The well-formed rows of the three inputs, typed and normalised (SPEC §2, §8 "Values").

use crate::base::text::{ClaimsFile, SessionsFile, Texts};

/// A text of the claims file.
pub type ClaimText = crate::base::text::Text<ClaimsFile>;
/// A text of the sessions file.
pub type SessionText = crate::base::text::Text<SessionsFile>;
use crate::base::values::Day;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Modality {
    Swedish,
    DeepTissue,
    TriggerPoint,
    Sports,
    Myofascial,
    Mld,
    Other,
}

impl Modality {
    pub const ALL: [Modality; 7] = [
        Modality::Swedish,
        Modality::DeepTissue,
        Modality::TriggerPoint,
        Modality::Sports,
        Modality::Myofascial,
        Modality::Mld,
        Modality::Other,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Modality::Swedish => "swedish",
            Modality::DeepTissue => "deep_tissue",
            Modality::TriggerPoint => "trigger_point",
            Modality::Sports => "sports",
            Modality::Myofascial => "myofascial",
            Modality::Mld => "mld",
            Modality::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Modality> {
        Modality::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(s))
    }

    /// The pressure a modality implies when the session does not state one (SPEC §2).
    pub fn default_pressure(self) -> Pressure {
        match self {
            Modality::DeepTissue | Modality::TriggerPoint | Modality::Sports => Pressure::Deep,
            Modality::Swedish | Modality::Myofascial | Modality::Other => Pressure::Moderate,
            Modality::Mld => Pressure::Light,
        }
    }
}

/// Ordered: light < moderate < deep.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Pressure {
    Light,
    Moderate,
    Deep,
}

impl Pressure {
    pub fn name(self) -> &'static str {
        match self {
            Pressure::Light => "light",
            Pressure::Moderate => "moderate",
            Pressure::Deep => "deep",
        }
    }

    pub fn parse(s: &str) -> Option<Pressure> {
        [Pressure::Light, Pressure::Moderate, Pressure::Deep]
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(s))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DocumentType {
    Prescription,
    Referral,
    Recommendation,
}

impl DocumentType {
    pub fn name(self) -> &'static str {
        match self {
            DocumentType::Prescription => "prescription",
            DocumentType::Referral => "referral",
            DocumentType::Recommendation => "recommendation",
        }
    }

    pub fn parse(s: &str) -> Option<DocumentType> {
        [
            DocumentType::Prescription,
            DocumentType::Referral,
            DocumentType::Recommendation,
        ]
        .into_iter()
        .find(|d| d.name().eq_ignore_ascii_case(s))
    }
}

pub use crate::base::Code;

/// One well-formed claim line. Index in `Batch::lines` = read order.
#[derive(Clone, Debug)]
pub struct ClaimLine {
    /// The record in the claims file: byte range (CSV) or (row, 0) (Parquet), to write it back out.
    pub span: (usize, usize),
    pub claim_id: ClaimText,
    /// `group::hash_of` the claim_id text, taken while the record is read, so that grouping a
    /// part's lines by claim reads no text but where two runs of lines share a hash.
    pub claim_hash: u64,
    /// The claim_id packed whole when it has at most 15 bytes (`group::TextKey::pack`), else 0:
    /// two runs of lines that share a hash are then told apart without reading their ids where
    /// they lie scattered over the file.
    pub claim_key: u128,
    /// The line read before it (in its part, in file order) has the same claim_id.
    pub claim_continues: bool,
    pub line_no: u32,
    pub patient_id: ClaimText,
    /// Index of the payer profile in the policy.
    pub payer: u8,
    pub rendering_npi: ClaimText,
    /// Empty when the claim names no prescription.
    pub rx_id: ClaimText,
    pub date: Day,
    pub cpt: Code,
    /// Upper-cased, sorted, without repeats, joined with `;`: modifiers compare as a set.
    pub modifiers: Code,
    pub units: i64,
    /// As written (trimmed), for `rejections.csv`.
    pub charge_text: ClaimText,
    /// Millionths of a currency unit.
    pub charge: i64,
    /// The field as written (trimmed); split with `values::codes` where needed.
    pub diagnosis_codes: ClaimText,
}

#[derive(Clone, Debug)]
pub struct SessionRow {
    pub session_id: SessionText,
    pub patient_id: SessionText,
    pub date: Day,
    pub cpt: Code,
    pub minutes: i64,
    pub modality: Option<Modality>,
    /// Stated, or implied by the modality.
    pub pressure: Option<Pressure>,
}

#[derive(Clone, Debug)]
pub struct Document {
    pub rx_id: Code,
    pub patient_id: Code,
    pub document_type: DocumentType,
    /// Dot-less, upper-cased.
    pub diagnosis_keys: smallvec::SmallVec<[Code; 2]>,
    pub authorized_sessions: Option<i64>,
    pub start: Day,
    pub end: Day,
    pub frequency_per_week: Option<i64>,
    /// Upper-cased; the default `97124;97140` when the field is empty.
    pub allowed_cpt: smallvec::SmallVec<[Code; 2]>,
    pub required_modality: Option<Modality>,
    pub max_pressure: Option<Pressure>,
    pub sessions_used: i64,
}

/// An input row that could not be read (SPEC §8 "malformed.csv").
#[derive(Clone, Debug)]
pub struct Malformed {
    pub file: String,
    pub line: u64,
    pub error: String,
    pub raw: String,
    /// Claims only: the claim the row belongs to, when its claim_id field could be read.
    pub claim_id: Option<String>,
}

pub struct Batch {
    pub lines: Vec<ClaimLine>,
    /// What the `Text`s of the lines point into.
    pub claims_text: Texts<ClaimsFile>,
    pub sessions: Vec<SessionRow>,
    pub sessions_text: Texts<SessionsFile>,
    pub documents: Vec<Document>,
    /// In file order: claims, sessions, prescriptions.
    /// By input (claims, sessions, prescriptions), each in file order.
    pub malformed: [Vec<Malformed>; 3],
    pub rows_read: [usize; 3],
}

impl Batch {
    /// A text of a claim line.
    pub fn claim_text(&self, t: ClaimText) -> &str {
        self.claims_text.get(t)
    }

    /// A text of a session row.
    pub fn session_text(&self, t: SessionText) -> &str {
        self.sessions_text.get(t)
    }

    /// The claim line's prescription number, if it names one.
    pub fn rx_id(&self, l: &ClaimLine) -> Option<&str> {
        (!l.rx_id.is_empty()).then(|| self.claim_text(l.rx_id))
    }
}
