//! Documents kept in an unnamed temporary file instead of memory, while a run still needs
//! them: `compile -o DIR` writes the folder from one at the end, and `verify` reads each
//! target's manifests back from one. The file has no name (`O_TMPFILE` or unlinked at once,
//! by `tempfile`), so it never outlives the process and never appears in an output folder.
//! Each document carries a label of the caller's (its path in the folder, the object's name).

use std::io::{self, Write};

/// Documents being written, each with its label.
pub struct Spool<L> {
    out: io::BufWriter<std::fs::File>,
    at: u64,
    /// Each document: its label, where it starts, its length.
    entries: Vec<(L, u64, usize)>,
}

impl<L> Spool<L> {
    pub fn new() -> io::Result<Spool<L>> {
        Ok(Spool {
            out: io::BufWriter::with_capacity(1 << 20, tempfile::tempfile()?),
            at: 0,
            entries: Vec::new(),
        })
    }

    /// Appends one document.
    pub fn push(&mut self, label: L, text: &str) -> io::Result<()> {
        self.out.write_all(text.as_bytes())?;
        self.entries.push((label, self.at, text.len()));
        self.at += text.len() as u64;
        Ok(())
    }

    /// Everything written, to read the documents back from.
    pub fn finish(self) -> io::Result<Spooled<L>> {
        let file = self.out.into_inner().map_err(io::IntoInnerError::into_error)?;
        Ok(Spooled { file, entries: self.entries })
    }
}

/// A finished [`Spool`]: the file and where each document lies in it. Documents are read
/// with positioned reads, so threads may read different documents at once.
pub struct Spooled<L> {
    file: std::fs::File,
    entries: Vec<(L, u64, usize)>,
}

/// One document of a [`Spooled`] file, read when asked.
pub struct SpooledDocument<'a> {
    file: &'a std::fs::File,
    at: u64,
    len: usize,
}

impl SpooledDocument<'_> {
    pub fn bytes(&self) -> io::Result<Vec<u8>> {
        use std::os::unix::fs::FileExt;
        let mut buf = vec![0; self.len];
        self.file.read_exact_at(&mut buf, self.at)?;
        Ok(buf)
    }
}

impl<L> Spooled<L> {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn label(&self, i: usize) -> &L {
        &self.entries[i].0
    }

    /// Each document with its label, in the order they were pushed.
    pub fn documents(&self) -> impl Iterator<Item = (&L, SpooledDocument<'_>)> {
        let file = &self.file;
        self.entries.iter().map(move |(l, at, len)| (l, SpooledDocument { file, at: *at, len: *len }))
    }

    /// Calls `each` with the index and text of every document in `range`, in order, read with
    /// one read (they lie one after another in the file); a document that is not UTF-8 is an
    /// error of its own.
    pub fn texts(
        &self,
        range: std::ops::Range<usize>,
        mut each: impl FnMut(usize, Result<&str, std::str::Utf8Error>),
    ) -> io::Result<()> {
        use std::os::unix::fs::FileExt;
        let entries = &self.entries[range.clone()];
        let (Some(first), Some(last)) = (entries.first(), entries.last()) else { return Ok(()) };
        let start = first.1;
        let mut buf = vec![0; (last.1 + last.2 as u64 - start) as usize];
        self.file.read_exact_at(&mut buf, start)?;
        for (i, (_, at, len)) in range.zip(entries) {
            let from = (at - start) as usize;
            each(i, std::str::from_utf8(&buf[from..from + len]));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_come_back_as_pushed_one_by_one_and_by_range() {
        let mut spool = Spool::new().expect("a temporary file");
        let docs = ["a: 1\n", "", "b: [x, y]\n", "c: é\n"];
        for (i, d) in docs.iter().enumerate() {
            spool.push(i, d).expect("written");
        }
        let spooled = spool.finish().expect("finished");
        assert_eq!(spooled.len(), 4);
        for (i, (label, doc)) in spooled.documents().enumerate() {
            assert_eq!(*label, i);
            assert_eq!(doc.bytes().expect("read"), docs[i].as_bytes());
        }
        for range in [0..4, 1..3, 2..2, 3..4] {
            let mut texts = Vec::new();
            spooled
                .texts(range.clone(), |i, t| texts.push((i, t.expect("UTF-8").to_string())))
                .expect("read");
            let want: Vec<(usize, String)> = range.clone().map(|i| (i, docs[i].to_string())).collect();
            assert_eq!(texts, want, "{range:?}");
        }
        assert_eq!(*spooled.label(2), 2);
    }
}
