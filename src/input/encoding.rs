//! The text of a CSV input made UTF-8 before it is split, so that every output is UTF-8.
//!
//! A file that is valid UTF-8 is used as it is, without a copy (the check runs over the whole file
//! in parallel, at memory speed). In a file that is not, every byte that is not part of a UTF-8
//! character is written as the four characters `\xNN` (its value in hexadecimal, upper case), and
//! where each such escape stands is kept: a field holding one is not valid UTF-8 to the reader (the
//! row is malformed when the field is a column claimscrub reads), while `raw` in `malformed.csv`
//! and the rows of `clean` and `held` show the escape.

use rayon::prelude::*;

use crate::base::text::FileBytes;

/// A file's bytes as UTF-8.
pub struct Utf8Text {
    pub bytes: FileBytes,
    /// Offsets of the `\xNN` escapes that stand for bytes that were not UTF-8, in order.
    pub escapes: Vec<usize>,
    /// A sentence for stderr and summary.json, when the bytes were not what the encoding expects.
    pub warning: Option<String>,
}

/// The first `keep` bytes (a byte-order mark) are kept as they are.
pub fn to_utf8(bytes: FileBytes, keep: usize, file: &str) -> Utf8Text {
    let data = &bytes[keep..];
    let pieces = pieces(data);
    if pieces
        .par_iter()
        .all(|&(a, b)| std::str::from_utf8(&data[a..b]).is_ok())
    {
        return Utf8Text {
            bytes,
            escapes: Vec::new(),
            warning: None,
        };
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
        "{file}: {lines} line{} hold{} bytes that are not UTF-8 (the first on line {first_line}: `{example}`); they are written as \\xNN in every output, and a row with one in a column claimscrub reads is malformed",
        if lines == 1 { "" } else { "s" },
        if lines == 1 { "s" } else { "" },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: &[u8], keep: usize) -> Utf8Text {
        to_utf8(FileBytes::Owned(bytes.to_vec()), keep, "claims.csv")
    }

    #[test]
    fn utf8_is_left_as_it_is() {
        let t = read("id,name\n1,José\n".as_bytes(), 0);
        assert_eq!(&t.bytes[..], "id,name\n1,José\n".as_bytes());
        assert!(t.escapes.is_empty() && t.warning.is_none());
        assert!(matches!(t.bytes, FileBytes::Owned(_)));
    }

    #[test]
    fn bytes_that_are_not_utf8_are_escaped_and_their_places_kept() {
        let t = read(b"id,name\n1,Jos\xe9\n2,ok\n3,\xe9\xe8 \xc3\n", 0);
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
    fn large_files_are_done_in_pieces_with_the_same_result() {
        let mut bytes = Vec::new();
        for i in 0..100_000 {
            bytes.extend_from_slice(format!("C-{i},Jos").as_bytes());
            bytes.push(if i % 3 == 0 { 0xe9 } else { b'e' });
            bytes.extend_from_slice(",“x”\n".as_bytes());
        }
        assert!(pieces(&bytes).len() > 1 || rayon::current_num_threads() == 1);
        let t = read(&bytes, 0);
        let (whole, at) = escape(&bytes);
        assert_eq!(&t.bytes[..], &whole[..]);
        assert_eq!(t.escapes, at);
        assert!(std::str::from_utf8(&t.bytes)
            .unwrap()
            .contains("C-3,Jos\\xE9,“x”\n"));
    }
}
