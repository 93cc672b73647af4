//! parquet's `ChunkReader` over a [`RangeSource`].
//!
//! The page reader asks for a page header through `get_read` and then for
//! the page through `get_bytes`: many small reads, each a call into the host.
//! So the caller prefetches a row group's column chunks in a few large reads
//! and this serves the page reader from them; anything else (the footer)
//! goes to the source directly.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::{Buf, Bytes};
use parquet::errors::{ParquetError, Result as ParquetResult};
use parquet::file::reader::{ChunkReader, Length};

use crate::source::RangeSource;

/// A `get_read` outside the prefetched ranges reads this much ahead: enough
/// for any page header or footer piece parquet reads through it.
const READ_AHEAD: u64 = 256 << 10;

#[derive(Clone)]
pub struct SourceChunkReader {
    inner: Arc<Inner>,
}

struct Inner {
    source: Arc<dyn RangeSource>,
    /// Bytes per call to the source.
    piece: u32,
    /// (file offset, bytes) of the prefetched ranges.
    cache: Mutex<Vec<(u64, Bytes)>>,
    /// The source's last failure: parquet wraps errors in its own, and a
    /// failed read must not be reported as a corrupt file.
    io_error: Mutex<Option<String>>,
}

impl SourceChunkReader {
    pub fn new(source: Arc<dyn RangeSource>, piece: u32) -> Self {
        SourceChunkReader {
            inner: Arc::new(Inner {
                source,
                piece: piece.max(1),
                cache: Mutex::new(Vec::new()),
                io_error: Mutex::new(None),
            }),
        }
    }

    /// Replaces the prefetched ranges by `ranges` (offset, length).
    pub fn prefetch(&self, ranges: &[(u64, u64)]) -> Result<(), String> {
        self.clear();
        let mut fetched = Vec::with_capacity(ranges.len());
        for &(start, len) in ranges {
            fetched.push((start, self.fetch(start, len)?));
        }
        *self.cache() = fetched;
        Ok(())
    }

    pub fn clear(&self) {
        self.cache().clear();
    }

    /// Why the source last failed to read, if it did.
    pub fn take_io_error(&self) -> Option<String> {
        lock(&self.inner.io_error).take()
    }

    fn cache(&self) -> MutexGuard<'_, Vec<(u64, Bytes)>> {
        lock(&self.inner.cache)
    }

    /// The prefetched bytes from `start` to the end of the range holding it.
    fn cached_from(&self, start: u64) -> Option<Bytes> {
        self.cache().iter().find_map(|(offset, bytes)| {
            let skip = usize::try_from(start.checked_sub(*offset)?).ok()?;
            (skip < bytes.len()).then(|| bytes.slice(skip..))
        })
    }

    /// Exactly `len` bytes at `start`, in reads of at most `piece` bytes.
    fn fetch(&self, start: u64, len: u64) -> Result<Bytes, String> {
        let size = self.inner.source.size();
        let end = start
            .checked_add(len)
            .filter(|&end| end <= size)
            .ok_or_else(|| {
                format!(
                    "bytes {start}..{} lie past the end of the file ({size} bytes)",
                    start.saturating_add(len)
                )
            })?;
        let capacity =
            usize::try_from(len).map_err(|_| format!("a range of {len} bytes is too large"))?;
        let mut buffer = Vec::with_capacity(capacity);
        let mut offset = start;
        while offset < end {
            let want = u32::try_from(end - offset)
                .unwrap_or(u32::MAX)
                .min(self.inner.piece);
            let got = self.inner.source.read(offset, want).map_err(|e| {
                let message = e.to_string();
                *lock(&self.inner.io_error) = Some(message.clone());
                message
            })?;
            if got.is_empty() {
                return Err(format!(
                    "the file ends at byte {offset}, before the {size} bytes it should have"
                ));
            }
            offset += got.len() as u64;
            buffer.extend_from_slice(&got);
        }
        buffer.truncate(capacity);
        Ok(Bytes::from(buffer))
    }
}

// Every critical section is a single assignment or clear, so a poisoned
// lock still guards a consistent value.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Length for SourceChunkReader {
    fn len(&self) -> u64 {
        self.inner.source.size()
    }
}

impl ChunkReader for SourceChunkReader {
    type T = bytes::buf::Reader<Bytes>;

    fn get_read(&self, start: u64) -> ParquetResult<Self::T> {
        if let Some(bytes) = self.cached_from(start) {
            return Ok(bytes.reader());
        }
        let len = self.len().saturating_sub(start).min(READ_AHEAD);
        let bytes = self.fetch(start, len).map_err(ParquetError::General)?;
        Ok(bytes.reader())
    }

    fn get_bytes(&self, start: u64, length: usize) -> ParquetResult<Bytes> {
        if let Some(bytes) = self.cached_from(start)
            && bytes.len() >= length
        {
            return Ok(bytes.slice(..length));
        }
        self.fetch(start, length as u64).map_err(ParquetError::EOF)
    }
}
