//! The fuzz targets' harness: the scrub of `claimscrub scrub` in process (read → normalise → link →
//! rules → ledger → hold → write) over files a target writes, and the property every input must
//! keep: no panic, and when the run does not stop with an error, claims rows read = clean + held +
//! malformed claims rows, counted in the written files.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use claimscrub::facts;
use claimscrub::hold::{self, HoldMode};
use claimscrub::input::{self, encoding::Encoding, InputPaths};
use claimscrub::ledger::Ledger;
use claimscrub::output::{tables, OutFormat};
use claimscrub::reference::icd10::{wellness_prefixes, CodeSets};
use claimscrub::reference::ncci::NcciEdits;
use claimscrub::reference::policy::Policy;
use claimscrub::rules::{self, Context};

/// The demo batch, the files a target does not fuzz.
pub const DEMO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/demo");

/// A scratch folder of this process (in memory where the machine has /dev/shm).
pub fn scratch(name: &str) -> PathBuf {
    let base = if Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    let dir = base.join(format!("claimscrub-fuzz-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch folder");
    dir
}

struct Reference {
    policy: Policy,
    code_sets: CodeSets,
    wellness: Vec<String>,
    ncci: NcciEdits,
}

fn reference() -> &'static Reference {
    static R: OnceLock<Reference> = OnceLock::new();
    R.get_or_init(|| {
        let policy = Policy::builtin();
        let ncci = NcciEdits::load(
            &[PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../fixtures/ncci/ptp-physical-medicine-excerpt.txt"
            ))],
            &policy.pair_edits(),
        )
        .expect("NCCI excerpt");
        Reference {
            code_sets: CodeSets::load(&[]).expect("bundled code sets"),
            wellness: wellness_prefixes(),
            ncci,
            policy,
        }
    })
}

pub fn policy() -> &'static Policy {
    &reference().policy
}

/// Scrub the three files into `out` as `scrub` does; `Err` is a run that stops with exit 2.
/// With `x12`, the claims file is an 837P.
pub fn scrub(
    paths: &InputPaths,
    encoding: Encoding,
    hold_mode: HoldMode,
    x12: bool,
    out: &Path,
) -> anyhow::Result<()> {
    let r = reference();
    let mut x12 = if x12 {
        Some(input::x12::X12Claims::read(&paths.claims, &r.policy, out)?)
    } else {
        None
    };
    let tables = input::open(paths, encoding, x12.as_ref())?;
    let batch = input::read_part(&tables, None, 0, &r.policy)?;
    let facts = facts::link(&batch, facts::Earlier::none());
    let ctx = Context {
        batch: &batch,
        facts: &facts,
        policy: &r.policy,
        code_sets: &r.code_sets,
        mue: None,
        wellness: &r.wellness,
        ncci: &r.ncci,
    };
    let findings = rules::run_all(&ctx);
    drop(facts);
    let mut ledger = Ledger::new(tables.claims.shared_bytes());
    ledger.add(batch, findings);
    ledger.finish();
    if let Some(x) = &mut x12 {
        x.settle(&r.policy, &mut ledger)?;
    }
    let holding = hold::decide(&ledger, hold_mode);
    let _ = input::unknown_payers(&ledger.malformed[0]);
    let f = OutFormat::Csv;
    tables::write_rejections(&ledger, &r.policy, f, &out.join("rejections.csv"))?;
    tables::write_clean_held(
        &tables.claims,
        &ledger,
        &holding.decisions,
        f,
        &out.join("clean.csv"),
        &out.join("held.csv"),
    )?;
    tables::write_malformed(&ledger, f, &out.join("malformed.csv"))?;
    if let Some(x) = &x12 {
        let staging = claimscrub::output::Staging::new(out)?;
        claimscrub::output::x12::write_outputs(x, &ledger, &holding.decisions, &staging)?;
    }
    // the accounting of SPEC §6, in the files as written
    let rows = |name: &str| -> usize {
        let mut r = csv::ReaderBuilder::new()
            .from_path(out.join(name))
            .unwrap_or_else(|e| panic!("{name} unreadable: {e}"));
        r.byte_records()
            .map(|rec| rec.unwrap_or_else(|e| panic!("{name} not CSV: {e}")))
            .count()
    };
    let (clean, held) = (rows("clean.csv"), rows("held.csv"));
    let claims_malformed = ledger.malformed[0].len();
    let malformed_rows = rows("malformed.csv");
    assert_eq!(
        malformed_rows,
        ledger.malformed.iter().map(Vec::len).sum::<usize>(),
        "malformed.csv rows"
    );
    assert_eq!(
        ledger.rows_read[0],
        clean + held + claims_malformed,
        "claims rows read = clean {clean} + held {held} + malformed {claims_malformed}"
    );
    Ok(())
}

/// The demo's files, with `which` (0 claims, 1 sessions, 2 prescriptions) replaced by `bytes`
/// written as `name` into `dir`.
pub fn demo_with(dir: &Path, which: usize, name: &str, bytes: &[u8]) -> InputPaths {
    let demo = Path::new(DEMO);
    let mut files = [
        demo.join("claims.csv"),
        demo.join("sessions.csv"),
        demo.join("prescriptions.csv"),
    ];
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write fuzz input");
    files[which] = p;
    let [claims, sessions, prescriptions] = files;
    InputPaths {
        claims,
        sessions,
        prescriptions,
    }
}
