//! The walk over an 837P: envelopes checked (ISA/IEA, GS/GE, ST/SE: pairs, control numbers and
//! counts), the HL hierarchy followed, and every segment told to a visitor with its place: an
//! envelope, the transaction's header, an HL and its loop, or a claim. The reader (mapping onto
//! claim rows) and the writers of `clean.837` / `held.837` walk the same way, so they number the
//! claims alike.
//!
//! A claim is the 2300 loop from its CLM to the next CLM, HL or SE, with its 2400 lines. Service
//! lines in an HL loop with no CLM before them form a claim too (without CLM: it is malformed).

use anyhow::{bail, Result};

use super::segments::{preview, Segment, Tokenizer};

/// An HL segment read: HL01, HL02, HL03, HL04.
#[derive(Clone, Copy, Debug)]
pub struct Hl<'a> {
    pub id: &'a [u8],
    pub parent: &'a [u8],
    pub level: Level,
    pub child: &'a [u8],
}

/// The levels of an 837P's hierarchy (HL03).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// 2000A: billing provider.
    Billing,
    /// 2000B: subscriber.
    Subscriber,
    /// 2000C: patient (a dependent).
    Patient,
}

/// Where a segment is.
#[derive(Clone, Copy, Debug)]
pub enum Place<'a> {
    Isa,
    Gs,
    St,
    /// In a transaction before its first HL: BHT, submitter and receiver (1000A, 1000B).
    Header,
    Hl(Hl<'a>),
    /// A segment of the current HL loop before its claims (2000A/B/C and 2010 loops).
    HlBody,
    /// The first segment of claim number `index` (from 0, in file order): its CLM, or for lines
    /// with no CLM, the first segment that belongs to no HL loop.
    ClaimStart {
        index: u32,
        has_clm: bool,
    },
    /// A further segment of the current claim.
    Claim,
    Se,
    Ge,
    Iea,
}

pub trait Visit<'a> {
    fn segment(&mut self, seg: &Segment, place: Place<'a>) -> Result<()>;
    /// After the last segment.
    fn end(&mut self) -> Result<()> {
        Ok(())
    }
}

/// The segments of an HL loop before its claims, by level (SPEC §11's loops, 005010X222A1).
fn in_hl_body(level: Level, id: &[u8], entity: &[u8]) -> bool {
    match id {
        b"N2" | b"N3" | b"N4" | b"REF" | b"PER" => true,
        b"PRV" | b"CUR" => level == Level::Billing,
        b"SBR" => level == Level::Subscriber,
        b"PAT" => level != Level::Billing,
        b"DMG" => level != Level::Billing,
        b"NM1" => match level {
            Level::Billing => matches!(entity, b"85" | b"87" | b"PE"),
            Level::Subscriber => matches!(entity, b"IL" | b"PR"),
            Level::Patient => entity == b"QC",
        },
        _ => false,
    }
}

/// Where the walk is in the envelopes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum In {
    Nothing,
    Interchange,
    Group,
    Transaction,
}

/// An open envelope: where it started, its control number, what it has counted.
struct Open<'a> {
    number: u64,
    control: &'a [u8],
    count: u64,
}

/// The number an element holds, for counts.
fn number(v: &[u8]) -> Option<u64> {
    if v.is_empty() || v.len() > 18 || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(v).ok()?.parse().ok()
}

fn text(v: &[u8]) -> String {
    String::from_utf8_lossy(v).into_owned()
}

/// Walk the file, telling `visit` every segment. Errors: a broken interchange, named by segment.
/// Returns the number of claims.
pub fn walk<'a>(bytes: &'a [u8], name: &'a str, visit: &mut impl Visit<'a>) -> Result<u32> {
    let mut tok = Tokenizer::new(bytes, name);
    let mut state = In::Nothing;
    let (mut isa, mut gs, mut st) = (None::<Open>, None::<Open>, None::<Open>);
    // the HL ancestry of the current loop (id, level), and whether the loop's claims have begun
    let mut stack: Vec<(&'a [u8], Level)> = Vec::new();
    let mut in_claims = false;
    let mut claims: u32 = 0;
    let at = |seg: &Segment| format!("{name}: segment {} ({})", seg.number, text(seg.id(bytes)));
    while let Some(seg) = tok.next_segment()? {
        let id = seg.id(bytes);
        let place = match (state, id) {
            (In::Nothing, b"ISA") => {
                state = In::Interchange;
                isa = Some(Open {
                    number: seg.number,
                    control: seg.el(bytes, 13),
                    count: 0,
                });
                Place::Isa
            }
            (In::Interchange, b"GS") => {
                state = In::Group;
                let v = seg.el(bytes, 8);
                if contains(v, b"X223") || contains(v, b"X224") {
                    bail!(
                        "{}: GS08 `{}` is not an 837P (005010X222A1): claimscrub reads professional claims",
                        at(&seg),
                        text(v)
                    );
                }
                gs = Some(Open {
                    number: seg.number,
                    control: seg.el(bytes, 6),
                    count: 0,
                });
                Place::Gs
            }
            (In::Interchange, b"IEA") => {
                let open = isa.take().expect("in an interchange");
                check_trailer(&seg, bytes, &open, "IEA", "ISA13", "functional groups", &at)?;
                state = In::Nothing;
                Place::Iea
            }
            (In::Group, b"ST") => {
                state = In::Transaction;
                if seg.el(bytes, 1) != b"837" {
                    bail!(
                        "{}: transaction set `{}` is not an 837 (health care claim)",
                        at(&seg),
                        text(seg.el(bytes, 1))
                    );
                }
                let v = seg.el(bytes, 3);
                if contains(v, b"X223") || contains(v, b"X224") {
                    bail!(
                        "{}: ST03 `{}` is not an 837P (005010X222A1): claimscrub reads professional claims",
                        at(&seg),
                        text(v)
                    );
                }
                gs.as_mut().expect("in a group").count += 1;
                st = Some(Open {
                    number: seg.number,
                    control: seg.el(bytes, 2),
                    count: 1,
                });
                stack.clear();
                in_claims = false;
                Place::St
            }
            (In::Group, b"GE") => {
                let open = gs.take().expect("in a group");
                check_trailer(&seg, bytes, &open, "GE", "GS06", "transaction sets", &at)?;
                isa.as_mut().expect("in an interchange").count += 1;
                state = In::Interchange;
                Place::Ge
            }
            (In::Transaction, b"SE") => {
                let open = st.as_mut().expect("in a transaction");
                open.count += 1;
                let open = st.take().expect("in a transaction");
                check_trailer(&seg, bytes, &open, "SE", "ST02", "segments", &at)?;
                state = In::Group;
                Place::Se
            }
            (In::Transaction, b"ISA" | b"GS" | b"ST" | b"GE" | b"IEA") => {
                let open = st.as_ref().expect("in a transaction");
                bail!(
                    "{}: the transaction set opened by ST at segment {} has no SE",
                    at(&seg),
                    open.number
                );
            }
            (In::Transaction, _) => {
                st.as_mut().expect("in a transaction").count += 1;
                if id == b"HL" {
                    let hl = read_hl(&seg, bytes, &at)?;
                    // the parent is an enclosing loop: leave the loops it does not enclose
                    while let Some((top, _)) = stack.last() {
                        if *top == hl.parent {
                            break;
                        }
                        stack.pop();
                    }
                    let parent_level = stack.last().map(|(_, l)| *l);
                    if stack.is_empty() && !hl.parent.is_empty() {
                        bail!(
                            "{}: HL02 `{}` names no HL loop that encloses this one",
                            at(&seg),
                            text(hl.parent)
                        );
                    }
                    let fits = match hl.level {
                        Level::Billing => parent_level.is_none(),
                        Level::Subscriber => parent_level == Some(Level::Billing),
                        Level::Patient => parent_level == Some(Level::Subscriber),
                    };
                    if !fits {
                        bail!(
                            "{}: an HL of level {} cannot have {} as its parent (billing provider 20 > subscriber 22 > patient 23)",
                            at(&seg),
                            level_code(hl.level),
                            parent_level.map_or("no HL".to_string(), |l| format!("level {}", level_code(l)))
                        );
                    }
                    stack.push((hl.id, hl.level));
                    in_claims = false;
                    Place::Hl(hl)
                } else if let Some(&(_, level)) = stack.last() {
                    if id == b"CLM" {
                        in_claims = true;
                        claims += 1;
                        Place::ClaimStart {
                            index: claims - 1,
                            has_clm: true,
                        }
                    } else if in_claims {
                        Place::Claim
                    } else if in_hl_body(level, id, seg.el(bytes, 1)) {
                        Place::HlBody
                    } else {
                        in_claims = true;
                        claims += 1;
                        Place::ClaimStart {
                            index: claims - 1,
                            has_clm: false,
                        }
                    }
                } else if matches!(id, b"CLM" | b"LX" | b"SV1" | b"HI") {
                    bail!(
                        "{}: a claim segment before the transaction's first HL (billing provider) loop",
                        at(&seg)
                    );
                } else {
                    Place::Header
                }
            }
            (In::Nothing, _) => unreachable!("the tokenizer stops at anything but ISA here"),
            (In::Interchange, b"ISA") | (In::Group, b"ISA") => {
                bail!(
                    "{}: the interchange opened by ISA at segment {} has no IEA",
                    at(&seg),
                    isa.as_ref().map_or(0, |o| o.number)
                );
            }
            (In::Group, b"IEA" | b"GS") => {
                bail!(
                    "{}: the functional group opened by GS at segment {} has no GE",
                    at(&seg),
                    gs.as_ref().map_or(0, |o| o.number)
                );
            }
            (In::Interchange, _) => bail!(
                "{}: expected GS (a functional group) or IEA after the interchange header",
                at(&seg)
            ),
            (In::Group, _) => bail!(
                "{}: expected ST (a transaction set) or GE in the functional group opened at segment {}",
                at(&seg),
                gs.as_ref().map_or(0, |o| o.number)
            ),
        };
        visit.segment(&seg, place)?;
    }
    let last = tok.next_number() - 1;
    match state {
        In::Nothing if last == 0 => bail!("{name}: segment 1: the file is empty (no ISA segment)"),
        In::Nothing => {}
        In::Transaction => bail!(
            "{name}: the file ends after segment {last}: the transaction set opened by ST at segment {} has no SE",
            st.map_or(0, |o| o.number)
        ),
        In::Group => bail!(
            "{name}: the file ends after segment {last}: the functional group opened by GS at segment {} has no GE",
            gs.map_or(0, |o| o.number)
        ),
        In::Interchange => bail!(
            "{name}: the file ends after segment {last}: the interchange opened by ISA at segment {} has no IEA",
            isa.map_or(0, |o| o.number)
        ),
    }
    visit.end()?;
    Ok(claims)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

pub fn level_code(l: Level) -> &'static str {
    match l {
        Level::Billing => "20",
        Level::Subscriber => "22",
        Level::Patient => "23",
    }
}

fn read_hl<'a>(seg: &Segment, bytes: &'a [u8], at: &dyn Fn(&Segment) -> String) -> Result<Hl<'a>> {
    let mut e = seg.elements(bytes).skip(1);
    let (id, parent, level, child) = (
        e.next().unwrap_or(&[]),
        e.next().unwrap_or(&[]),
        e.next().unwrap_or(&[]),
        e.next().unwrap_or(&[]),
    );
    if id.is_empty() {
        bail!("{}: HL01 (the loop's number) is empty", at(seg));
    }
    let level = match level {
        b"20" => Level::Billing,
        b"22" => Level::Subscriber,
        b"23" => Level::Patient,
        other => bail!(
            "{}: HL03 `{}` is not a level of an 837P (20 billing provider, 22 subscriber, 23 patient)",
            at(seg),
            text(other)
        ),
    };
    Ok(Hl {
        id,
        parent,
        level,
        child,
    })
}

/// A trailer (SE, GE, IEA) against its header: the same control number, the right count.
fn check_trailer(
    seg: &Segment,
    bytes: &[u8],
    open: &Open,
    trailer: &str,
    control_name: &str,
    counted: &str,
    at: &dyn Fn(&Segment) -> String,
) -> Result<()> {
    let (count, control) = (seg.el(bytes, 1), seg.el(bytes, 2));
    if control != open.control {
        bail!(
            "{}: {trailer}02 `{}` is not the control number `{}` of {control_name} at segment {}",
            at(seg),
            text(control),
            text(open.control),
            open.number
        );
    }
    if number(count) != Some(open.count) {
        bail!(
            "{}: {trailer}01 `{}` counts {counted}, and there are {} (from segment {}); the file may be cut or spliced",
            at(seg),
            preview(count),
            open.count,
            open.number
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISA: &str = "ISA*00*          *00*          *ZZ*SUBMITTER      *ZZ*RECEIVER       *250311*1200*^*00501*000000001*0*P*:~";

    struct Places(Vec<String>);
    impl<'a> Visit<'a> for Places {
        fn segment(&mut self, _: &Segment, place: Place<'a>) -> Result<()> {
            self.0.push(match place {
                Place::Hl(h) => format!("HL{}", level_code(h.level)),
                Place::ClaimStart { index, has_clm } => {
                    format!("claim{index}{}", if has_clm { "" } else { "!" })
                }
                p => format!("{p:?}"),
            });
            Ok(())
        }
    }

    fn places(body: &str, se_count: usize) -> Result<Vec<String>> {
        let text = format!(
            "{ISA}GS*HC*S*R*20250311*1200*1*X*005010X222A1~ST*837*0001*005010X222A1~{body}SE*{se_count}*0001~GE*1*1~IEA*1*000000001~"
        );
        let mut p = Places(Vec::new());
        walk(text.as_bytes(), "t.837", &mut p)?;
        Ok(p.0)
    }

    #[test]
    fn places_of_an_837p() {
        let body = "BHT*0019*00*1*20250311*1200*CH~NM1*41*2*SUB*****46*1~HL*1**20*1~NM1*85*2*CLINIC*****XX*1234567893~HL*2*1*22*1~SBR*P********MB~NM1*IL*1*DOE*JANE****MI*P-1~HL*3*2*23*0~PAT*19~NM1*QC*1*DOE*JIM~CLM*C-1*40***11:B:1*Y*A*Y*Y~HI*ABK:M5450~LX*1~SV1*HC:97124*40*UN*1***1~DTP*472*D8*20250310~";
        let p = places(body, 17).unwrap();
        assert_eq!(
            p,
            [
                "Isa", "Gs", "St", "Header", "Header", "HL20", "HlBody", "HL22", "HlBody",
                "HlBody", "HL23", "HlBody", "HlBody", "claim0", "Claim", "Claim", "Claim", "Claim",
                "Se", "Ge", "Iea"
            ]
        );
    }

    #[test]
    fn lines_without_a_clm_are_a_claim_of_their_own() {
        let body = "HL*1**20*1~NM1*85*2*CLINIC*****XX*1234567893~HL*2*1*22*0~SBR*P********MB~NM1*IL*1*DOE*JANE****MI*P-1~HI*ABK:M5450~LX*1~SV1*HC:97124*40*UN*1***1~";
        let p = places(body, 10).unwrap();
        assert_eq!(p[8..11], ["claim0!", "Claim", "Claim"]);
    }

    #[test]
    fn broken_envelopes_name_the_segment() {
        let hl = "HL*1**20*1~";
        let e = places(hl, 2).unwrap_err().to_string();
        assert!(
            e.contains("segment 5 (SE)") && e.contains("SE01 `2`") && e.contains("there are 3"),
            "{e}"
        );
        // no SE, no GE, no IEA
        let text = format!("{ISA}GS*HC*S*R*1*1*1*X*005010X222A1~ST*837*1~GE*1*1~");
        let e = walk(text.as_bytes(), "t.837", &mut Places(vec![]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("segment 4 (GE)") && e.contains("ST at segment 3 has no SE"),
            "{e}"
        );
        let text = format!("{ISA}GS*HC*S*R*1*1*1*X*005010X222A1~IEA*1*000000001~");
        let e = walk(text.as_bytes(), "t.837", &mut Places(vec![]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("segment 3 (IEA)") && e.contains("no GE"), "{e}");
        let text = format!("{ISA}GS*HC*S*R*1*1*1*X*005010X222A1~GE*0*1~");
        let e = walk(text.as_bytes(), "t.837", &mut Places(vec![]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("after segment 3") && e.contains("ISA at segment 1 has no IEA"),
            "{e}"
        );
        let text = format!("{ISA}GS*HC*S*R*1*1*1*X*005010X222A1~GE*0*1~IEA*1*000000002~");
        let e = walk(text.as_bytes(), "t.837", &mut Places(vec![]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("segment 4 (IEA)") && e.contains("IEA02 `000000002`"),
            "{e}"
        );
        let e = walk(b"", "t.837", &mut Places(vec![]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("segment 1") && e.contains("empty"), "{e}");
        // a group and an interchange without their trailers' right counts
        let text = format!("{ISA}GS*HC*S*R*1*1*1*X*005010X222A1~GE*1*1~IEA*1*000000001~");
        let e = walk(text.as_bytes(), "t.837", &mut Places(vec![]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("GE01 `1` counts transaction sets, and there are 0"),
            "{e}"
        );
    }

    #[test]
    fn the_hierarchy_must_hold() {
        let e = places("HL*1**22*1~", 3).unwrap_err().to_string();
        assert!(e.contains("level 22 cannot have no HL"), "{e}");
        let e = places("HL*1**20*1~HL*2*7*22*0~", 4)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("segment 5 (HL)") && e.contains("HL02 `7`"),
            "{e}"
        );
        let e = places("HL*1**21*1~", 3).unwrap_err().to_string();
        assert!(e.contains("HL03 `21`"), "{e}");
        let e = places("CLM*C-1*40~", 3).unwrap_err().to_string();
        assert!(e.contains("before the transaction's first HL"), "{e}");
        let e = places("", 2).unwrap();
        assert_eq!(e, ["Isa", "Gs", "St", "Se", "Ge", "Iea"]);
    }
}
