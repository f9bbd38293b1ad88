//! Text values without a copy per value: a `Text` is a slice of the file it was read from, or of a
//! side arena for the few values that had to be unescaped (or came from Parquet).
//!
//! A text is read back from the store it was made for: `Text<S>` names its store `S` (the claims
//! file, the sessions file, the ledger), so reading a session text from the claims store does not
//! compile. The tag is a type only: a `Text` is still 8 bytes and reading one costs the same.

use std::marker::PhantomData;

/// 8 bytes: bit 63 = in the arena, bits 24..63 = offset, bits 0..24 = length.
pub struct Text<S>(u64, PhantomData<S>);

// by hand: derived impls would ask the same of the store marker `S`
impl<S> Clone for Text<S> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<S> Copy for Text<S> {}
impl<S> Default for Text<S> {
    fn default() -> Self {
        Text::EMPTY
    }
}
impl<S> PartialEq for Text<S> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}
impl<S> Eq for Text<S> {}
impl<S> std::hash::Hash for Text<S> {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.0.hash(h)
    }
}
impl<S> std::fmt::Debug for Text<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Text({:#x})", self.0)
    }
}

/// The store of texts read from the claims file.
pub struct ClaimsFile;

/// The store of texts read from the sessions file.
pub struct SessionsFile;

const ARENA: u64 = 1 << 63;
const LEN_BITS: u32 = 24;
const MAX_LEN: usize = (1 << LEN_BITS) - 1;

impl<S> Text<S> {
    pub const EMPTY: Text<S> = Text(0, PhantomData);

    fn new(offset: usize, len: usize, arena: bool) -> Text<S> {
        assert!(
            len <= MAX_LEN,
            "a value of {len} bytes is longer than claimscrub can hold"
        );
        Text(
            ((offset as u64) << LEN_BITS) | len as u64 | if arena { ARENA } else { 0 },
            PhantomData,
        )
    }

    /// The same slice of the file, for a store whose file bytes are this store's (the ledger
    /// keeps the claims file). Arena texts must be copied instead: their arena is not carried.
    pub fn file_slice_for<T>(self) -> Text<T> {
        assert!(
            !self.in_arena() || self.is_empty(),
            "an arena text moved between stores"
        );
        Text(self.0, PhantomData)
    }

    pub fn is_empty(self) -> bool {
        self.len() == 0
    }

    pub fn len(self) -> usize {
        (self.0 & MAX_LEN as u64) as usize
    }

    fn offset(self) -> usize {
        ((self.0 & !ARENA) >> LEN_BITS) as usize
    }

    pub fn in_arena(self) -> bool {
        self.0 & ARENA != 0
    }

    /// The bytes this text names: in the file's bytes `raw` or in `arena`.
    fn bytes_in<'b>(self, raw: &'b [u8], arena: &'b [u8]) -> &'b [u8] {
        let (o, l) = (self.offset(), self.len());
        if self.in_arena() {
            &arena[o..o + l]
        } else {
            &raw[o..o + l]
        }
    }

    /// Move an arena value by `base` (arenas of chunks are joined end to end).
    pub fn rebase(&mut self, base: usize) {
        if self.in_arena() && !self.is_empty() {
            *self = Text::new(self.offset() + base, self.len(), true);
        }
    }
}

/// The bytes of an input file: mapped (plain CSV: the kernel may page it out and back in, so a
/// batch larger than memory still reads) or read into memory (gzip).
pub enum FileBytes {
    Owned(Vec<u8>),
    Mapped(memmap2::Mmap),
}

impl Default for FileBytes {
    fn default() -> FileBytes {
        FileBytes::Owned(Vec::new())
    }
}

impl std::ops::Deref for FileBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            FileBytes::Owned(v) => v,
            FileBytes::Mapped(m) => m,
        }
    }
}

/// The bytes `Text`s point into: the file as read (shared by every part of a batch), and the arena.
pub struct Texts<S> {
    pub raw: std::sync::Arc<FileBytes>,
    pub arena: Vec<u8>,
    store: PhantomData<S>,
}

impl<S> Default for Texts<S> {
    fn default() -> Self {
        Texts::new(Default::default(), Vec::new())
    }
}

impl<S> Texts<S> {
    pub fn new(raw: std::sync::Arc<FileBytes>, arena: Vec<u8>) -> Texts<S> {
        Texts {
            raw,
            arena,
            store: PhantomData,
        }
    }

    pub fn get(&self, t: Text<S>) -> &str {
        let b = t.bytes_in(&self.raw, &self.arena);
        debug_assert!(std::str::from_utf8(b).is_ok());
        // SAFETY: every Text is made by `TextBuilder::text` from a `&str` (or by `rebase`, which
        // keeps its bytes), so the bytes it names are valid UTF-8; checking again on every read
        // would cost a scan per access in sorts and hashes.
        unsafe { std::str::from_utf8_unchecked(b) }
    }
}

/// Builds `Text`s of store `S` while one chunk of a file is read.
pub struct TextBuilder<'a, S> {
    pub raw: &'a [u8],
    pub arena: Vec<u8>,
    store: PhantomData<S>,
}

impl<'a, S> TextBuilder<'a, S> {
    pub fn new(raw: &'a [u8]) -> TextBuilder<'a, S> {
        TextBuilder::with_arena(raw, Vec::new())
    }

    /// A builder that appends to an arena already begun.
    pub fn with_arena(raw: &'a [u8], arena: Vec<u8>) -> TextBuilder<'a, S> {
        TextBuilder {
            raw,
            arena,
            store: PhantomData,
        }
    }

    /// The bytes of a text this builder made.
    pub fn bytes(&self, t: Text<S>) -> &[u8] {
        t.bytes_in(self.raw, &self.arena)
    }

    /// A value copied into the arena even when it is a slice of the file: for keys that are
    /// compared often, which then sit together instead of all over the file (cache and TLB).
    pub fn copy(&mut self, s: &str) -> Text<S> {
        if s.is_empty() {
            return Text::EMPTY;
        }
        let o = self.arena.len();
        self.arena.extend_from_slice(s.as_bytes());
        Text::new(o, s.len(), true)
    }

    /// A value that is `s`: a slice of the file when it is one, else copied into the arena.
    pub fn text(&mut self, s: &str) -> Text<S> {
        if s.is_empty() {
            return Text::EMPTY;
        }
        let (base, p) = (self.raw.as_ptr() as usize, s.as_ptr() as usize);
        if p >= base && p + s.len() <= base + self.raw.len() {
            Text::new(p - base, s.len(), false)
        } else {
            let o = self.arena.len();
            self.arena.extend_from_slice(s.as_bytes());
            Text::new(o, s.len(), true)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_and_arena_values_read_back() {
        let raw = b"C-1,P-77".to_vec();
        let mut b = TextBuilder::<ClaimsFile>::new(&raw);
        let s = std::str::from_utf8(&raw[4..8]).unwrap();
        let a = b.text(s);
        let mut c = b.text("say \"hi\"");
        let arena = b.arena;
        let mut texts = Texts::new(
            std::sync::Arc::new(FileBytes::Owned(raw.clone())),
            vec![b'x'; 3],
        );
        texts.arena.extend(arena);
        c.rebase(3);
        assert_eq!(texts.get(a), "P-77");
        assert_eq!(texts.get(c), "say \"hi\"");
        assert_eq!(texts.get(Text::EMPTY), "");
        // an arena text cannot move to another store; a slice of the file can
        let moved: Text<SessionsFile> = a.file_slice_for();
        assert_eq!(moved.len(), 4);
        assert!(std::panic::catch_unwind(|| c.file_slice_for::<SessionsFile>()).is_err());
    }
}
