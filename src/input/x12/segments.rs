//! The X12 segment tokenizer: each interchange's separators from its ISA, then one segment at a
//! time with its number in the file (from 1) and its place, without copying anything.

use anyhow::{bail, Result};

/// The separators an ISA segment declares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Separators {
    /// The 4th character of ISA.
    pub element: u8,
    /// ISA16.
    pub component: u8,
    /// The character after ISA16.
    pub segment: u8,
    /// ISA11 from version 00501 on (before it, ISA11 is a standards identifier).
    pub repetition: Option<u8>,
}

/// One segment: `bytes[start..end]` is its text without the terminator, `next` is where the
/// following one begins (after the terminator and any line break).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    pub number: u64,
    pub start: usize,
    pub end: usize,
    pub next: usize,
    pub seps: Separators,
}

impl Segment {
    /// The segment's text, without its terminator.
    pub fn text<'a>(&self, bytes: &'a [u8]) -> &'a [u8] {
        &bytes[self.start..self.end]
    }

    /// The segment id (`CLM`).
    pub fn id<'a>(&self, bytes: &'a [u8]) -> &'a [u8] {
        let t = self.text(bytes);
        // ids are 2 or 3 characters
        match t.iter().take(4).position(|&x| x == self.seps.element) {
            Some(n) => &t[..n],
            None if t.len() <= 3 => t,
            None => self.el(bytes, 0),
        }
    }

    /// Element `i` (0 = the id; `CLM01` is 1); empty when the segment has fewer.
    pub fn el<'a>(&self, bytes: &'a [u8], i: usize) -> &'a [u8] {
        // a plain loop: this runs several times a segment, on short segments
        let (t, sep) = (self.text(bytes), self.seps.element);
        let (mut from, mut k) = (0, 0);
        for (j, &x) in t.iter().enumerate() {
            if x == sep {
                if k == i {
                    return &t[from..j];
                }
                k += 1;
                from = j + 1;
            }
        }
        if k == i {
            &t[from..]
        } else {
            &[]
        }
    }

    pub fn elements<'a>(
        &self,
        bytes: &'a [u8],
    ) -> std::slice::Split<'a, u8, impl FnMut(&u8) -> bool> {
        let sep = self.seps.element;
        self.text(bytes).split(move |b| *b == sep)
    }

    /// The segment as it is written back: text and terminator, with the line break that followed
    /// it in the file (none when the next segment followed on the same line).
    pub fn written<'a>(&self, bytes: &'a [u8]) -> &'a [u8] {
        &bytes[self.start..self.next]
    }

    /// The line break (possibly empty) that followed the terminator.
    pub fn line_break<'a>(&self, bytes: &'a [u8]) -> &'a [u8] {
        &bytes[(self.end + 1).min(self.next)..self.next]
    }
}

/// Component `i` (from 0) of a composite element.
pub fn component(element: &[u8], sep: u8, i: usize) -> &[u8] {
    element.split(|b| *b == sep).nth(i).unwrap_or(&[])
}

/// The bytes a line break is made of (skipped after a terminator).
fn is_break(b: u8) -> bool {
    b == b'\n' || b == b'\r'
}

/// Segments of a file, in order. Between interchanges (before the first ISA and after each IEA)
/// blank space is skipped; the next thing there must be an ISA.
pub struct Tokenizer<'a> {
    bytes: &'a [u8],
    at: usize,
    number: u64,
    seps: Option<Separators>,
    name: &'a str,
}

impl<'a> Tokenizer<'a> {
    /// `name` is the file's name, for messages.
    pub fn new(bytes: &'a [u8], name: &'a str) -> Tokenizer<'a> {
        let bom = if bytes.starts_with(b"\xEF\xBB\xBF") {
            3
        } else {
            0
        };
        Tokenizer {
            bytes,
            at: bom,
            number: 0,
            seps: None,
            name,
        }
    }

    /// The number the next segment will have.
    pub fn next_number(&self) -> u64 {
        self.number + 1
    }

    /// The next segment, `None` at the end of the file. Errors are a broken interchange.
    pub fn next_segment(&mut self) -> Result<Option<Segment>> {
        let b = self.bytes;
        if self.seps.is_none() {
            while self.at < b.len() && b[self.at].is_ascii_whitespace() {
                self.at += 1;
            }
            if self.at >= b.len() {
                return Ok(None);
            }
            let seps = self.isa()?;
            self.seps = Some(seps);
        }
        let seps = self.seps.expect("set above");
        if self.at >= b.len() {
            return Ok(None);
        }
        let number = self.number + 1;
        let Some(len) = memchr::memchr(seps.segment, &b[self.at..]) else {
            if b[self.at..].iter().all(|c| c.is_ascii_whitespace()) {
                self.at = b.len();
                return Ok(None);
            }
            // the segment's id only: the rest may be a patient's name or member id
            bail!(
                "{}: segment {number}: the file ends inside it (no segment terminator `{}` after a segment that starts `{}`)",
                self.name,
                shown(seps.segment),
                id_of(&b[self.at..])
            );
        };
        let (start, end) = (self.at, self.at + len);
        let mut next = end + 1;
        while next < b.len() && is_break(b[next]) && b[next] != seps.segment {
            next += 1;
        }
        self.at = next;
        self.number = number;
        let seg = Segment {
            number,
            start,
            end,
            next,
            seps,
        };
        if seg.id(b) == b"IEA" {
            // the next interchange declares its own separators
            self.seps = None;
        }
        Ok(Some(seg))
    }

    /// Read the separators of the ISA segment that starts at `self.at`.
    fn isa(&mut self) -> Result<Separators> {
        let b = &self.bytes[self.at..];
        let number = self.number + 1;
        if !b.starts_with(b"ISA") || b.len() < 4 {
            bail!(
                "{}: segment {number}: expected an ISA segment (an interchange starts with ISA), found `{}`",
                self.name,
                id_of(b)
            );
        }
        let element = b[3];
        if element.is_ascii_alphanumeric() || element.is_ascii_whitespace() {
            bail!(
                "{}: segment {number} (ISA): `{}` cannot be the element separator",
                self.name,
                shown(element)
            );
        }
        // ISA16 follows the 16th element separator; the segment terminator follows ISA16
        let seps_at: Vec<usize> = memchr::memchr_iter(element, b).take(16).collect();
        let Some(&last) = seps_at.get(15) else {
            bail!(
                "{}: segment {number} (ISA): fewer than 16 elements",
                self.name
            );
        };
        let (Some(&component), Some(&segment)) = (b.get(last + 1), b.get(last + 2)) else {
            bail!(
                "{}: segment {number} (ISA): the file ends inside it",
                self.name
            );
        };
        if component == element || segment == element || segment == component {
            bail!(
                "{}: segment {number} (ISA): the element, component and segment separators must differ (`{}`, `{}`, `{}`)",
                self.name,
                shown(element),
                shown(component),
                shown(segment)
            );
        }
        if component.is_ascii_alphanumeric() || segment.is_ascii_alphanumeric() {
            bail!(
                "{}: segment {number} (ISA): a letter or digit cannot be a separator (ISA16 `{}`, terminator `{}`)",
                self.name,
                shown(component),
                shown(segment)
            );
        }
        let field = |i: usize| &b[seps_at[i - 1] + 1..seps_at[i]];
        let version = field(12);
        let repetition = match field(11) {
            [r] if version >= &b"00501"[..] && !r.is_ascii_alphanumeric() => Some(*r),
            _ => None,
        };
        Ok(Separators {
            element,
            component,
            segment,
            repetition,
        })
    }
}

/// A separator as a message shows it.
fn shown(b: u8) -> String {
    match b {
        b'\n' => "\\n".into(),
        b'\r' => "\\r".into(),
        b'\t' => "\\t".into(),
        0x20..=0x7e => (b as char).to_string(),
        _ => format!("\\x{b:02X}"),
    }
}

/// What a segment id would be at the start of some text (up to 3 letters or digits, `…` when
/// more follows), for a message that must not show the data after it (SPEC: patient data
/// appears in no message).
fn id_of(b: &[u8]) -> String {
    let n = b
        .iter()
        .take(3)
        .take_while(|c| c.is_ascii_alphanumeric())
        .count();
    let id: String = b[..n].iter().map(|&c| c as char).collect();
    match (n, b.len() > n) {
        (0, true) => shown(b[0]) + "…",
        (_, true) => id + "…",
        _ => id,
    }
}

/// The start of some text, for a message.
pub fn preview(b: &[u8]) -> String {
    let cut = &b[..b.len().min(40)];
    let text: String = String::from_utf8_lossy(cut)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if b.len() > 40 {
        format!("{}…", text.trim_end())
    } else {
        text.trim_end().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub const ISA: &str = "ISA*00*          *00*          *ZZ*SUBMITTER      *ZZ*RECEIVER       *250311*1200*^*00501*000000001*0*P*:~";

    fn all(text: &str) -> Result<Vec<(u64, String, String)>> {
        let mut t = Tokenizer::new(text.as_bytes(), "t.837");
        let mut v = Vec::new();
        while let Some(s) = t.next_segment()? {
            v.push((
                s.number,
                String::from_utf8_lossy(s.id(text.as_bytes())).into_owned(),
                String::from_utf8_lossy(s.written(text.as_bytes())).into_owned(),
            ));
        }
        Ok(v)
    }

    #[test]
    fn separators_come_from_the_isa() {
        let text = format!("{ISA}GS*HC*A*B~");
        let mut t = Tokenizer::new(text.as_bytes(), "t.837");
        let isa = t.next_segment().unwrap().unwrap();
        assert_eq!(
            isa.seps,
            Separators {
                element: b'*',
                component: b':',
                segment: b'~',
                repetition: Some(b'^')
            }
        );
        assert_eq!(isa.el(text.as_bytes(), 16), b":");
        let gs = t.next_segment().unwrap().unwrap();
        assert_eq!((gs.number, gs.el(text.as_bytes(), 1)), (2, &b"HC"[..]));
        assert!(t.next_segment().unwrap().is_none());
    }

    #[test]
    fn one_segment_a_line_or_all_on_one_line_alike() {
        let one = format!("{ISA}GS*HC*A*B~ST*837*0001~");
        let lines = format!("{ISA}\r\nGS*HC*A*B~\nST*837*0001~\n");
        let (a, b) = (all(&one).unwrap(), all(&lines).unwrap());
        let ids =
            |v: &[(u64, String, String)]| v.iter().map(|s| (s.0, s.1.clone())).collect::<Vec<_>>();
        assert_eq!(ids(&a), ids(&b));
        assert_eq!(b[0].2, format!("{ISA}\r\n"));
        assert_eq!(a[1].2, "GS*HC*A*B~");
    }

    #[test]
    fn odd_separators_and_a_second_interchange_with_its_own() {
        let first = "ISA|00|          |00|          |ZZ|SUBMITTER      |ZZ|RECEIVER       |250311|1200|^|00501|000000001|0|P|>!GS|HC|A|B!IEA|1|000000001!";
        let second = format!("{ISA}IEA*1*000000001~");
        let text = format!("{first}\n\n{second}");
        let v = all(&text).unwrap();
        assert_eq!(v.len(), 5);
        assert_eq!(v[1].2, "GS|HC|A|B!");
        assert_eq!((v[3].0, v[3].1.as_str()), (4, "ISA"));
        let mut t = Tokenizer::new(text.as_bytes(), "t.837");
        let s = t.next_segment().unwrap().unwrap();
        assert_eq!(
            (s.seps.element, s.seps.component, s.seps.segment),
            (b'|', b'>', b'!')
        );
    }

    #[test]
    fn a_broken_start_or_end_names_the_segment() {
        let e = all("GS*HC~").unwrap_err().to_string();
        assert!(
            e.contains("segment 1") && e.contains("expected an ISA"),
            "{e}"
        );
        let e = all(&format!("{ISA}GS*HC*A")).unwrap_err().to_string();
        assert!(
            e.contains("segment 2") && e.contains("ends inside it"),
            "{e}"
        );
        // the segment's id, not its data (a name or member id may follow)
        assert!(e.contains("starts `GS…`") && !e.contains("HC"), "{e}");
        let e = all("Jane Doe,123\n").unwrap_err().to_string();
        assert!(e.contains("found `Jan…`") && !e.contains("Doe"), "{e}");
        let e = all("ISA*00*").unwrap_err().to_string();
        assert!(e.contains("fewer than 16 elements"), "{e}");
        let e = all(&format!("{ISA}IEA*1*1~GS*HC~"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("segment 3") && e.contains("expected an ISA"),
            "{e}"
        );
        // blank space at the end is not a segment
        assert_eq!(all(&format!("{ISA}\n \n")).unwrap().len(), 1);
    }

    #[test]
    fn before_00501_isa11_is_not_a_repetition_separator() {
        let text = ISA.replace("*^*00501*", "*U*00401*");
        let mut t = Tokenizer::new(text.as_bytes(), "t.837");
        assert_eq!(t.next_segment().unwrap().unwrap().seps.repetition, None);
    }
}
