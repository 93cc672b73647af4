//! Where a landing file's bytes come from, and chunked UTF-8 reading of text
//! files.

use bytes::Bytes;
use lfhost_plugin_sdk::Error;

use crate::rows::FileContext;

/// Random access to one landing file's bytes.
///
/// In the component this is the host's `landing.read`; in native tests it is
/// memory. `Send + Sync` because parquet's `ChunkReader` needs them.
pub trait RangeSource: Send + Sync {
    /// The file's size in bytes.
    fn size(&self) -> u64;
    /// Up to `len` bytes from `offset`; fewer only at the end of the file.
    fn read(&self, offset: u64, len: u32) -> Result<Vec<u8>, Error>;
}

/// A file held in memory.
#[derive(Debug, Clone)]
pub struct MemorySource(pub Bytes);

impl RangeSource for MemorySource {
    fn size(&self) -> u64 {
        self.0.len() as u64
    }

    fn read(&self, offset: u64, len: u32) -> Result<Vec<u8>, Error> {
        let size = self.0.len();
        let start = usize::try_from(offset).unwrap_or(usize::MAX).min(size);
        let end = start.saturating_add(len as usize).min(size);
        Ok(self.0[start..end].to_vec())
    }
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A text file read front to back in chunks: skips a leading UTF-8 BOM and
/// checks that the bytes are UTF-8 as they arrive, so a caller may treat
/// every chunk it gets as valid UTF-8 (a character may still straddle two
/// chunks).
pub struct TextChunks<'a> {
    source: &'a dyn RangeSource,
    file: &'a FileContext<'a>,
    offset: u64,
    done: bool,
    utf8: Utf8Check,
}

impl<'a> TextChunks<'a> {
    pub fn new(source: &'a dyn RangeSource, file: &'a FileContext<'a>) -> Result<Self, Error> {
        // Read the first bytes on their own so that a BOM is seen whole
        // however small the chunks are.
        let head = read(source, file, 0, 3)?;
        let offset = if head == BOM { 3 } else { 0 };
        Ok(TextChunks {
            source,
            file,
            offset,
            done: false,
            utf8: Utf8Check::default(),
        })
    }

    /// The file offset of the next chunk's first byte.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The next chunk; empty at the end of the file.
    pub fn next_chunk(&mut self) -> Result<Vec<u8>, Error> {
        if self.done {
            return Ok(Vec::new());
        }
        let chunk = read(self.source, self.file, self.offset, self.file.chunk_size)?;
        // "Fewer only at the end": a short read means there is no more.
        if chunk.len() < self.file.chunk_size as usize {
            self.done = true;
        }
        self.utf8
            .check(&chunk, self.offset)
            .map_err(|at| self.file.error(format!("not valid UTF-8 at byte {at}")))?;
        self.offset += chunk.len() as u64;
        if self.done {
            self.utf8
                .finish()
                .map_err(|at| self.file.error(format!("not valid UTF-8 at byte {at}")))?;
        }
        Ok(chunk)
    }
}

fn read(
    source: &dyn RangeSource,
    file: &FileContext<'_>,
    offset: u64,
    len: u32,
) -> Result<Vec<u8>, Error> {
    source.read(offset, len).map_err(|e| match e {
        Error::InvalidData(m) | Error::Internal(m) => file.error(format!("cannot read: {m}")),
        other => other,
    })
}

/// Incremental UTF-8 validation that tolerates a character split between
/// chunks. Errors are absolute byte offsets.
#[derive(Default)]
struct Utf8Check {
    /// The start of a character whose remaining bytes are in the next chunk.
    carry: Vec<u8>,
    carry_offset: u64,
}

impl Utf8Check {
    fn check(&mut self, chunk: &[u8], offset: u64) -> Result<(), u64> {
        let mut rest = chunk;
        let mut rest_offset = offset;
        if !self.carry.is_empty() {
            let need = utf8_width(self.carry[0]) - self.carry.len();
            let take = need.min(rest.len());
            self.carry.extend_from_slice(&rest[..take]);
            match std::str::from_utf8(&self.carry) {
                Ok(_) => self.carry.clear(),
                // Still incomplete: this chunk was too short to finish it.
                Err(e) if e.error_len().is_none() => return Ok(()),
                Err(_) => return Err(self.carry_offset),
            }
            rest = &rest[take..];
            rest_offset += take as u64;
        }
        match std::str::from_utf8(rest) {
            Ok(_) => Ok(()),
            Err(e) if e.error_len().is_none() => {
                // An incomplete but so far valid character at the very end.
                self.carry.extend_from_slice(&rest[e.valid_up_to()..]);
                self.carry_offset = rest_offset + e.valid_up_to() as u64;
                Ok(())
            }
            Err(e) => Err(rest_offset + e.valid_up_to() as u64),
        }
    }

    fn finish(&self) -> Result<(), u64> {
        if self.carry.is_empty() {
            Ok(())
        } else {
            Err(self.carry_offset)
        }
    }
}

/// The byte length of a character from its first byte; only called on a
/// first byte that `from_utf8` reported as the start of an incomplete
/// character, so it is a valid multi-byte lead.
fn utf8_width(lead: u8) -> usize {
    match lead {
        0xF0..=0xF7 => 4,
        0xE0..=0xEF => 3,
        _ => 2,
    }
}
