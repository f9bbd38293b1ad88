//! The text of a CSV input made UTF-8 before it is split, so that every output is UTF-8.
//!
//! - `utf8` (the default): a file that is valid UTF-8 is used as it is, without a copy (the check
//!   runs over the whole file in parallel, at memory speed). In a file that is not, every byte that
//!   is not part of a UTF-8 character is written as the four characters `\xNN` (its value in
//!   hexadecimal, upper case), and where each such escape stands is kept: a field holding one is
//!   not valid UTF-8 to the reader (the row is malformed when the field is a column claimscrub
//!   reads), while `raw` in `malformed.csv` and the rows of `clean` and `held` show the escape.
//! - `latin1` (ISO-8859-1) and `cp1252` (Windows-1252): every byte is decoded to its character;
//!   cp1252 reads 0x80–0x9F as its punctuation (€ ‚ ƒ „ … † ‡ ˆ ‰ Š ‹ Œ Ž ‘ ’ “ ” • – — ˜ ™ š › œ ž Ÿ;
//!   the five bytes it leaves undefined, 0x81 0x8D 0x8F 0x90 0x9D, as the C1 controls of the same
//!   number, as WHATWG's windows-1252 does), latin1 as the C1 controls. A file that is plain ASCII
//!   is used as it is.

use rayon::prelude::*;

use crate::base::text::FileBytes;

/// The character encoding of CSV inputs (`--encoding`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Encoding {
    /// UTF-8 (and so ASCII); bytes that are not UTF-8 are kept as `\xNN`.
    #[default]
    #[value(alias = "utf-8")]
    Utf8,
    /// ISO-8859-1 (Latin-1).
    #[value(alias = "iso-8859-1", alias = "latin-1")]
    Latin1,
    /// Windows-1252, Latin-1 with punctuation such as € ‘ ’ “ ” – at 0x80–0x9F.
    #[value(alias = "windows-1252")]
    Cp1252,
}

impl Encoding {
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf8",
            Encoding::Latin1 => "latin1",
            Encoding::Cp1252 => "cp1252",
        }
    }
}

/// A file's bytes as UTF-8.
pub struct Utf8Text {
    pub bytes: FileBytes,
    /// Offsets of the `\xNN` escapes that stand for bytes that were not UTF-8, in order.
    pub escapes: Vec<usize>,
    /// A sentence for stderr and summary.json, when the bytes were not what the encoding expects.
    pub warning: Option<String>,
}

/// The first `keep` bytes (a byte-order mark) are kept as they are.
pub fn to_utf8(bytes: FileBytes, keep: usize, encoding: Encoding, file: &str) -> Utf8Text {
    let unchanged = |bytes, warning| Utf8Text {
        bytes,
        escapes: Vec::new(),
        warning,
    };
    let data = &bytes[keep..];
    let pieces = pieces(data);
    let ascii = || pieces.par_iter().all(|&(a, b)| data[a..b].is_ascii());
    let utf8 = || {
        pieces
            .par_iter()
            .all(|&(a, b)| std::str::from_utf8(&data[a..b]).is_ok())
    };
    match encoding {
        Encoding::Utf8 => {
            if utf8() {
                return unchanged(bytes, None);
            }
            let parts: Vec<(Vec<u8>, Vec<usize>)> = pieces
                .par_iter()
                .map(|&(a, b)| escape(&data[a..b]))
                .collect();
            let mut out = Vec::with_capacity(keep + parts.iter().map(|p| p.0.len()).sum::<usize>());
            out.extend_from_slice(&bytes[..keep]);
            let mut escapes = Vec::with_capacity(parts.iter().map(|p| p.1.len()).sum());
            for (text, at) in parts {
                let base = out.len();
                escapes.extend(at.into_iter().map(|e| e + base));
                out.extend_from_slice(&text);
            }
            let warning = Some(not_utf8(file, &out, &escapes));
            Utf8Text {
                bytes: FileBytes::Owned(out),
                escapes,
                warning,
            }
        }
        Encoding::Latin1 | Encoding::Cp1252 => {
            if ascii() {
                return unchanged(bytes, None);
            }
            let warning = utf8().then(|| {
                format!(
                    "{file} is valid UTF-8 with non-ASCII text, and was read as {} as --encoding asked: if names show as `JosÃ©`, leave --encoding out",
                    encoding.name()
                )
            });
            let table = if encoding == Encoding::Cp1252 {
                &CP1252
            } else {
                &LATIN1
            };
            let parts: Vec<Vec<u8>> = pieces
                .par_iter()
                .map(|&(a, b)| decode(&data[a..b], table))
                .collect();
            let mut out = Vec::with_capacity(keep + parts.iter().map(Vec::len).sum::<usize>());
            out.extend_from_slice(&bytes[..keep]);
            for p in parts {
                out.extend_from_slice(&p);
            }
            unchanged(FileBytes::Owned(out), warning)
        }
    }
}

/// Pieces of `data` for parallel work, cut after line ends (a line end is never inside a character).
fn pieces(data: &[u8]) -> Vec<(usize, usize)> {
    let n = rayon::current_num_threads() * 4;
    if data.len() < (1 << 20) || n < 2 {
        return vec![(0, data.len())];
    }
    let size = data.len().div_ceil(n);
    let mut bounds = vec![0];
    for i in 1..n {
        let from = (i * size).max(*bounds.last().unwrap());
        match memchr::memchr(b'\n', data.get(from..).unwrap_or_default()) {
            Some(j) if from + j + 1 < data.len() => bounds.push(from + j + 1),
            _ => break,
        }
    }
    bounds.push(data.len());
    bounds.windows(2).map(|w| (w[0], w[1])).collect()
}

/// `text` with every byte that is not part of a UTF-8 character written as `\xNN`, and where each
/// escape starts.
fn escape(text: &[u8]) -> (Vec<u8>, Vec<usize>) {
    let mut out = Vec::with_capacity(text.len() + 64);
    let mut at = Vec::new();
    for chunk in text.utf8_chunks() {
        out.extend_from_slice(chunk.valid().as_bytes());
        for &b in chunk.invalid() {
            at.push(out.len());
            out.extend_from_slice(format!("\\x{b:02X}").as_bytes());
        }
    }
    (out, at)
}

/// The warning for a file that held bytes that are not UTF-8.
fn not_utf8(file: &str, out: &[u8], escapes: &[usize]) -> String {
    let first = escapes[0];
    let first_line = memchr::memchr_iter(b'\n', &out[..first]).count() + 1;
    let mut lines = 0usize;
    let mut line_end = 0usize;
    for &e in escapes {
        if e >= line_end || lines == 0 {
            lines += 1;
            line_end = memchr::memchr(b'\n', &out[e..]).map_or(out.len(), |j| e + j);
        }
    }
    let example = String::from_utf8_lossy(&out[first..first + 4]).into_owned();
    format!(
        "{file}: {lines} line{} hold{} bytes that are not UTF-8 (the first on line {first_line}: `{example}`); they are written as \\xNN in every output, and a row with one in a column claimscrub reads is malformed; a Latin-1 or Windows export reads right with --encoding latin1 or cp1252",
        if lines == 1 { "" } else { "s" },
        if lines == 1 { "s" } else { "" },
    )
}

/// The characters of bytes 0x80–0xFF.
type Table = [char; 128];

const LATIN1: Table = {
    let mut t = ['\0'; 128];
    let mut i = 0;
    while i < 128 {
        t[i] = match char::from_u32(0x80 + i as u32) {
            Some(c) => c,
            None => '\0',
        };
        i += 1;
    }
    t
};

const CP1252: Table = {
    let mut t = LATIN1;
    let punctuation: [(usize, char); 27] = [
        (0x80, '€'),
        (0x82, '‚'),
        (0x83, 'ƒ'),
        (0x84, '„'),
        (0x85, '…'),
        (0x86, '†'),
        (0x87, '‡'),
        (0x88, 'ˆ'),
        (0x89, '‰'),
        (0x8A, 'Š'),
        (0x8B, '‹'),
        (0x8C, 'Œ'),
        (0x8E, 'Ž'),
        (0x91, '‘'),
        (0x92, '’'),
        (0x93, '“'),
        (0x94, '”'),
        (0x95, '•'),
        (0x96, '–'),
        (0x97, '—'),
        (0x98, '˜'),
        (0x99, '™'),
        (0x9A, 'š'),
        (0x9B, '›'),
        (0x9C, 'œ'),
        (0x9E, 'ž'),
        (0x9F, 'Ÿ'),
    ];
    let mut i = 0;
    while i < punctuation.len() {
        t[punctuation[i].0 - 0x80] = punctuation[i].1;
        i += 1;
    }
    t
};

/// A single-byte text as UTF-8.
fn decode(text: &[u8], table: &Table) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + text.len() / 16 + 16);
    let mut i = 0;
    while i < text.len() {
        let j = text[i..]
            .iter()
            .position(|&b| b >= 0x80)
            .map_or(text.len(), |k| i + k);
        out.extend_from_slice(&text[i..j]);
        if j == text.len() {
            break;
        }
        let mut buf = [0u8; 4];
        out.extend_from_slice(
            table[(text[j] - 0x80) as usize]
                .encode_utf8(&mut buf)
                .as_bytes(),
        );
        i = j + 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: &[u8], keep: usize, encoding: Encoding) -> Utf8Text {
        to_utf8(
            FileBytes::Owned(bytes.to_vec()),
            keep,
            encoding,
            "claims.csv",
        )
    }

    #[test]
    fn utf8_is_left_as_it_is() {
        let t = read("id,name\n1,José\n".as_bytes(), 0, Encoding::Utf8);
        assert_eq!(&t.bytes[..], "id,name\n1,José\n".as_bytes());
        assert!(t.escapes.is_empty() && t.warning.is_none());
        assert!(matches!(t.bytes, FileBytes::Owned(_)));
    }

    #[test]
    fn bytes_that_are_not_utf8_are_escaped_and_their_places_kept() {
        let t = read(
            b"id,name\n1,Jos\xe9\n2,ok\n3,\xe9\xe8 \xc3\n",
            0,
            Encoding::Utf8,
        );
        let text = std::str::from_utf8(&t.bytes).unwrap();
        assert_eq!(text, "id,name\n1,Jos\\xE9\n2,ok\n3,\\xE9\\xE8 \\xC3\n");
        assert_eq!(t.escapes, [13, 25, 29, 34]);
        assert!(t.escapes.iter().all(|&e| text[e..].starts_with("\\x")));
        let w = t.warning.unwrap();
        assert!(
            w.starts_with(
                "claims.csv: 2 lines hold bytes that are not UTF-8 (the first on line 2: `\\xE9`)"
            ),
            "{w}"
        );
    }

    #[test]
    fn latin1_and_cp1252_are_decoded() {
        let bytes = b"\xef\xbb\xbfname,note\nJos\xe9,\x93ok\x94 \x80 5 \x96 \x81\n";
        let t = read(bytes, 3, Encoding::Cp1252);
        assert_eq!(
            std::str::from_utf8(&t.bytes).unwrap(),
            "\u{feff}name,note\nJosé,“ok” € 5 – \u{81}\n"
        );
        assert!(t.warning.is_none());
        let t = read(b"Jos\xe9,\x93\n", 0, Encoding::Latin1);
        assert_eq!(std::str::from_utf8(&t.bytes).unwrap(), "José,\u{93}\n");
        // valid UTF-8 read as Latin-1 is decoded as asked, with a warning
        let t = read("José\n".as_bytes(), 0, Encoding::Latin1);
        assert_eq!(std::str::from_utf8(&t.bytes).unwrap(), "JosÃ©\n");
        assert!(t.warning.unwrap().contains("is valid UTF-8"));
        // ASCII needs no copy
        let t = read(b"a,b\n", 0, Encoding::Cp1252);
        assert_eq!(&t.bytes[..], b"a,b\n");
    }

    #[test]
    fn large_files_are_done_in_pieces_with_the_same_result() {
        let mut bytes = Vec::new();
        for i in 0..100_000 {
            bytes.extend_from_slice(format!("C-{i},Jos").as_bytes());
            bytes.push(if i % 3 == 0 { 0xe9 } else { b'e' });
            bytes.extend_from_slice(b",\x93x\x94\n");
        }
        assert!(pieces(&bytes).len() > 1 || rayon::current_num_threads() == 1);
        let t = read(&bytes, 0, Encoding::Utf8);
        let (whole, at) = escape(&bytes);
        assert_eq!(&t.bytes[..], &whole[..]);
        assert_eq!(t.escapes, at);
        let t = read(&bytes, 0, Encoding::Cp1252);
        assert_eq!(&t.bytes[..], &decode(&bytes, &CP1252)[..]);
        assert!(std::str::from_utf8(&t.bytes)
            .unwrap()
            .contains("C-3,José,“x”\n"));
    }
}
