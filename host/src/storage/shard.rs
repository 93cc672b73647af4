//! Splitting a bronze table's new landing files between workers.
//!
//! A file belongs to shard `i` of `n` when the first 8 bytes of the
//! SHA-256 of its relative path, read as a big-endian integer, are `i`
//! modulo `n`: any worker, in any language, computes the same split
//! without talking to the others. Each shard records what it ingested
//! under its own Delta application id, so shards commit side by side while
//! two workers of the same shard conflict and one of them loses.

use sha2::{Digest, Sha256};

/// The application id of unsharded ingestion (and of tables written
/// before shards existed).
pub const UNSHARDED_APP_ID: &str = "lfhost.ingest";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// The whole of the table's files.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Reads `i/n`, e.g. `0/4`.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let bad = || format!("`{text}` is not a shard: write i/n with 0 <= i < n, e.g. 0/4");
        let (index, count) = text.trim().split_once('/').ok_or_else(bad)?;
        let index: u32 = index.trim().parse().map_err(|_| bad())?;
        let count: u32 = count.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    pub fn is_whole(&self) -> bool {
        self.count == 1
    }

    /// Whether the file at `relative` (its path under the source folder) is this shard's.
    pub fn owns(&self, relative: &str) -> bool {
        self.is_whole() || shard_of(relative, self.count) == self.index
    }

    /// The Delta application id under which this shard's commits record
    /// their ingest manifests.
    pub fn app_id(&self) -> String {
        if self.is_whole() {
            UNSHARDED_APP_ID.to_string()
        } else {
            format!("{UNSHARDED_APP_ID}.shard-{}-of-{}", self.index, self.count)
        }
    }

    /// Every shard of a split into `count`.
    pub fn all(count: u32) -> impl Iterator<Item = Shard> {
        (0..count).map(move |index| Shard { index, count })
    }
}

impl Default for Shard {
    fn default() -> Self {
        Shard::WHOLE
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Which of `count` shards the file at `relative` belongs to.
pub fn shard_of(relative: &str, count: u32) -> u32 {
    let digest = Sha256::digest(relative.as_bytes());
    let mut prefix = [0u8; 8];
    prefix.copy_from_slice(&digest[..8]);
    let bucket = u64::from_be_bytes(prefix) % u64::from(count.max(1));
    u32::try_from(bucket).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses() {
        assert_eq!(Shard::parse("2/4"), Ok(Shard { index: 2, count: 4 }));
        assert_eq!(Shard::parse(" 0 / 1 "), Ok(Shard::WHOLE));
        for bad in ["4/4", "1/0", "a/2", "3", "-1/2", ""] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_file_has_exactly_one_shard() {
        let files: Vec<String> = (0..500)
            .map(|i| format!("orders/batch-{i:03}.jsonl"))
            .collect();
        for count in [1, 2, 3, 7] {
            let mut sizes = vec![0; count as usize];
            for file in &files {
                let owners: Vec<Shard> = Shard::all(count).filter(|s| s.owns(file)).collect();
                assert_eq!(owners.len(), 1, "{file} of {count}");
                sizes[owners[0].index as usize] += 1;
            }
            // A hash spreads 500 names roughly evenly.
            assert!(
                sizes.iter().all(|&n| n > 500 / count as usize / 2),
                "{sizes:?}"
            );
        }
    }

    #[test]
    fn the_split_is_the_documented_hash() {
        // What docs/scaling.md tells other implementations to compute.
        let digest = Sha256::digest(b"a.csv");
        let expected = u64::from_be_bytes(digest[..8].try_into().unwrap_or_default()) % 5;
        assert_eq!(u64::from(shard_of("a.csv", 5)), expected);
        assert_eq!(Shard::WHOLE.app_id(), "lfhost.ingest");
        assert_eq!(
            Shard { index: 1, count: 3 }.app_id(),
            "lfhost.ingest.shard-1-of-3"
        );
    }
}
