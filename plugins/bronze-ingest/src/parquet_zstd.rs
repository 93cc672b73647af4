//! Row groups with ZSTD column chunks.
//!
//! parquet's ZSTD codec is the C library, which cannot be built for wasm32
//! without a C toolchain. Instead such chunks are opened as if uncompressed
//! (so parquet parses the page headers and hands over the raw page bytes)
//! and each page is decompressed here with the pure-Rust `ruzstd`.

use std::io::Read;
use std::sync::Arc;

use bytes::Bytes;
use parquet::arrow::arrow_reader::RowGroups;
use parquet::basic::Compression;
use parquet::column::page::{Page, PageIterator, PageMetadata, PageReader};
use parquet::errors::{ParquetError, Result};
use parquet::file::metadata::{ParquetMetaData, RowGroupMetaData};
use parquet::file::serialized_reader::SerializedPageReader;

use crate::parquet_source::SourceChunkReader;

/// A page larger than this once decompressed is refused: real pages are
/// around a megabyte, and a crafted frame must not exhaust memory.
const MAX_PAGE_BYTES: u64 = 512 << 20;

pub fn is_zstd(codec: Compression) -> bool {
    matches!(codec, Compression::ZSTD(_))
}

/// One row group of a file, read through [`SourceChunkReader`].
pub struct ZstdRowGroup {
    pub reader: Arc<SourceChunkReader>,
    pub metadata: Arc<ParquetMetaData>,
    pub index: usize,
}

impl ZstdRowGroup {
    fn group(&self) -> &RowGroupMetaData {
        self.metadata.row_group(self.index)
    }
}

impl RowGroups for ZstdRowGroup {
    fn num_rows(&self) -> usize {
        usize::try_from(self.group().num_rows()).unwrap_or(0)
    }

    fn column_chunks(&self, i: usize) -> Result<Box<dyn PageIterator>> {
        let chunk = self.group().column(i);
        let rows = self.num_rows();
        let pages: Box<dyn PageReader> = if is_zstd(chunk.compression()) {
            let raw = chunk
                .clone()
                .into_builder()
                .set_compression(Compression::UNCOMPRESSED)
                .build()?;
            let pages = SerializedPageReader::new(Arc::clone(&self.reader), &raw, rows, None)?;
            Box::new(ZstdPages(pages))
        } else {
            Box::new(SerializedPageReader::new(
                Arc::clone(&self.reader),
                chunk,
                rows,
                None,
            )?)
        };
        Ok(Box::new(OneChunk(Some(pages))))
    }

    fn row_groups(&self) -> Box<dyn Iterator<Item = &RowGroupMetaData> + '_> {
        Box::new(std::iter::once(self.group()))
    }

    fn metadata(&self) -> &ParquetMetaData {
        &self.metadata
    }
}

/// The pages of the one column chunk a single row group has.
struct OneChunk(Option<Box<dyn PageReader>>);

impl Iterator for OneChunk {
    type Item = Result<Box<dyn PageReader>>;

    fn next(&mut self) -> Option<Self::Item> {
        self.0.take().map(Ok)
    }
}

impl PageIterator for OneChunk {}

/// Decompresses the pages of a ZSTD chunk opened as uncompressed.
struct ZstdPages<P>(P);

impl<P: PageReader> Iterator for ZstdPages<P> {
    type Item = Result<Page>;

    fn next(&mut self) -> Option<Self::Item> {
        self.get_next_page().transpose()
    }
}

impl<P: PageReader> PageReader for ZstdPages<P> {
    fn get_next_page(&mut self) -> Result<Option<Page>> {
        self.0.get_next_page()?.map(decompress_page).transpose()
    }

    fn peek_next_page(&mut self) -> Result<Option<PageMetadata>> {
        self.0.peek_next_page()
    }

    fn skip_next_page(&mut self) -> Result<()> {
        self.0.skip_next_page()
    }

    fn at_record_boundary(&mut self) -> Result<bool> {
        self.0.at_record_boundary()
    }
}

fn decompress_page(page: Page) -> Result<Page> {
    Ok(match page {
        Page::DataPage {
            buf,
            num_values,
            encoding,
            def_level_encoding,
            rep_level_encoding,
            statistics,
        } => Page::DataPage {
            buf: unzstd(&buf)?.into(),
            num_values,
            encoding,
            def_level_encoding,
            rep_level_encoding,
            statistics,
        },
        Page::DataPageV2 {
            buf,
            num_values,
            encoding,
            num_nulls,
            num_rows,
            def_levels_byte_len,
            rep_levels_byte_len,
            is_compressed,
            statistics,
        } => {
            // In v2 pages the levels are stored uncompressed before the values.
            let levels =
                (def_levels_byte_len as usize).saturating_add(rep_levels_byte_len as usize);
            let buf = if is_compressed && buf.len() > levels {
                let mut out = buf[..levels].to_vec();
                out.extend_from_slice(&unzstd(&buf[levels..])?);
                Bytes::from(out)
            } else {
                buf
            };
            Page::DataPageV2 {
                buf,
                num_values,
                encoding,
                num_nulls,
                num_rows,
                def_levels_byte_len,
                rep_levels_byte_len,
                is_compressed: false,
                statistics,
            }
        }
        Page::DictionaryPage {
            buf,
            num_values,
            encoding,
            is_sorted,
        } => Page::DictionaryPage {
            buf: unzstd(&buf)?.into(),
            num_values,
            encoding,
            is_sorted,
        },
    })
}

/// Decodes every ZSTD frame in `input`.
fn unzstd(mut input: &[u8]) -> Result<Vec<u8>> {
    let corrupt =
        |e: &dyn std::fmt::Display| ParquetError::General(format!("corrupt ZSTD page: {e}"));
    let mut out = Vec::new();
    while !input.is_empty() {
        let decoder =
            ruzstd::decoding::StreamingDecoder::new(&mut input).map_err(|e| corrupt(&e))?;
        let room = (MAX_PAGE_BYTES + 1).saturating_sub(out.len() as u64);
        decoder
            .take(room)
            .read_to_end(&mut out)
            .map_err(|e| corrupt(&e))?;
        if out.len() as u64 > MAX_PAGE_BYTES {
            return Err(corrupt(&format!(
                "a page decompresses to more than {} MiB",
                MAX_PAGE_BYTES >> 20
            )));
        }
    }
    Ok(out)
}
