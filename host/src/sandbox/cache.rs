//! Compiled components on disk: Cranelift takes seconds for a plugin, loading
//! a precompiled one takes milliseconds.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// A folder of `.cwasm` files keyed by component digest and engine settings,
/// and beside it the digests of plugin files already hashed.
#[derive(Debug, Clone)]
pub struct ComponentCache {
    dir: Option<PathBuf>,
    digests: Option<PathBuf>,
    /// [`SETTLED`], shorter in tests.
    settled: std::time::Duration,
}

/// A remembered digest is trusted only for a file last changed at least
/// this long before it was hashed: a write within the same timestamp tick
/// as the hashing would otherwise go unseen.
const SETTLED: std::time::Duration = std::time::Duration::from_secs(2);

/// A plugin file's digest, and its bytes when they had to be read for it.
pub struct FileDigest {
    pub digest: String,
    pub bytes: Option<Vec<u8>>,
}

impl ComponentCache {
    /// `LFHOST_CACHE_DIR`, else `$XDG_CACHE_HOME/lfhost`, else `~/.cache/lfhost`.
    pub fn from_env() -> Self {
        let dir = std::env::var_os("LFHOST_CACHE_DIR")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("lfhost")))
            .or_else(|| {
                std::env::var_os("HOME").map(|d| PathBuf::from(d).join(".cache").join("lfhost"))
            });
        ComponentCache {
            dir: dir.as_ref().map(|d| d.join("components")),
            digests: dir.map(|d| d.join("digests")),
            settled: SETTLED,
        }
    }

    /// The sha256 of the file at `path`. Hashing every plugin was most of
    /// a run with nothing new (tens of MiB read and hashed), so a file whose
    /// identity (device, inode, size, modification and change times) is as
    /// when it was last hashed, with its compiled form cached, is not read:
    /// writing a file moves its change time, which no user can set back.
    pub fn file_digest(&self, engine: &Engine, path: &Path) -> std::io::Result<FileDigest> {
        let meta = std::fs::metadata(path)?;
        let remembered = self.digest_entry(path).zip(identity(&meta));
        if let Some((entry, identity)) = &remembered
            && let Ok(text) = std::fs::read_to_string(entry)
            && let Some((seen, digest)) = text.trim().split_once(' ')
            && seen == identity
            && self
                .compiled_path(engine, digest)
                .is_some_and(|p| p.exists())
        {
            return Ok(FileDigest {
                digest: digest.to_string(),
                bytes: None,
            });
        }
        let bytes = std::fs::read(path)?;
        let digest = digest(&bytes);
        let settled = last_change(&meta)
            .and_then(|m| m.elapsed().ok())
            .is_some_and(|age| age >= self.settled);
        if let Some((entry, identity)) = remembered
            && settled
            && let Err(e) = write_atomically(&entry, format!("{identity} {digest}\n").as_bytes())
        {
            tracing::debug!("could not remember the digest of {}: {e}", path.display());
        }
        Ok(FileDigest {
            digest,
            bytes: Some(bytes),
        })
    }

    fn digest_entry(&self, path: &Path) -> Option<PathBuf> {
        let absolute = std::fs::canonicalize(path).ok()?;
        let key = digest(absolute.as_os_str().as_encoded_bytes());
        Some(self.digests.as_ref()?.join(key))
    }

    fn compiled_path(&self, engine: &Engine, digest: &str) -> Option<PathBuf> {
        let dir = self.dir.as_ref()?;
        Some(dir.join(format!("{digest}-{}.cwasm", engine_key(engine))))
    }

    /// Loads `bytes` (whose sha256 is `digest`) compiled, compiling and
    /// storing it on a miss. A cache that cannot be read or written only costs
    /// time.
    /// `bytes` are read on a miss only, when not given.
    pub fn load(
        &self,
        engine: &Engine,
        digest: &str,
        bytes: impl FnOnce() -> wasmtime::Result<Vec<u8>>,
    ) -> wasmtime::Result<Component> {
        let Some(path) = self.compiled_path(engine, digest) else {
            return Component::new(engine, bytes()?);
        };
        if path.exists() {
            // SAFETY: the file was written by `Component::serialize` of an
            // engine with the same settings (the name says so); the cache
            // folder is the user's own, as trusted as the lfhost binary.
            match unsafe { Component::deserialize_file(engine, &path) } {
                Ok(component) => return Ok(component),
                Err(e) => tracing::warn!(
                    "ignoring unreadable compiled plugin {}: {e}",
                    path.display()
                ),
            }
        }
        let component = Component::new(engine, bytes()?)?;
        if let Err(e) = store(&path, &component) {
            tracing::debug!(
                "could not cache the compiled plugin at {}: {e}",
                path.display()
            );
        }
        Ok(component)
    }
}

/// The sha256 of a component's bytes, lowercase hex.
pub fn digest(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn engine_key(engine: &Engine) -> String {
    // DefaultHasher's keys are fixed, so the key is stable across runs of one
    // build; the wasmtime version is in the compatibility hash as well.
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    env!("CARGO_PKG_VERSION").hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

/// What identifies a file's current contents without reading them.
#[cfg(unix)]
fn identity(meta: &std::fs::Metadata) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    Some(format!(
        "{}:{}:{}:{}.{}:{}.{}",
        meta.dev(),
        meta.ino(),
        meta.size(),
        meta.mtime(),
        meta.mtime_nsec(),
        meta.ctime(),
        meta.ctime_nsec()
    ))
}

#[cfg(not(unix))]
fn identity(_meta: &std::fs::Metadata) -> Option<String> {
    None
}

/// When the file last changed: the later of its modification time, which
/// anyone who can write it can set back, and its change time, which only
/// the kernel sets.
#[cfg(unix)]
fn last_change(meta: &std::fs::Metadata) -> Option<std::time::SystemTime> {
    use std::os::unix::fs::MetadataExt;
    let changed = u64::try_from(meta.ctime())
        .ok()
        .map(|s| std::time::Duration::new(s, u32::try_from(meta.ctime_nsec()).unwrap_or(0)))
        .and_then(|since| std::time::UNIX_EPOCH.checked_add(since))?;
    Some(meta.modified().map_or(changed, |m| m.max(changed)))
}

#[cfg(not(unix))]
fn last_change(meta: &std::fs::Metadata) -> Option<std::time::SystemTime> {
    meta.modified().ok()
}

fn store(path: &Path, component: &Component) -> Result<(), Box<dyn std::error::Error>> {
    write_atomically(path, &component.serialize()?)?;
    Ok(())
}

/// Writes then renames, so a concurrent or killed run never reads half a file.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| std::io::Error::other("no parent folder"))?;
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        std::process::id(),
        uuid::Uuid::new_v4()
    ));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;

    /// Writes `bytes` to `path`, last modified `age` ago.
    fn write_aged(path: &Path, bytes: &[u8], age: Duration) {
        std::fs::write(path, bytes).unwrap();
        let file = std::fs::File::options().write(true).open(path).unwrap();
        file.set_modified(SystemTime::now() - age).unwrap();
    }

    #[test]
    fn a_file_is_read_again_unless_its_identity_and_compiled_form_are_unchanged() {
        let dir = std::env::temp_dir().join(format!("lfhost-digests-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // Files count as settled at once here; the real wait is checked below.
        let mut cache = ComponentCache {
            dir: Some(dir.join("components")),
            digests: Some(dir.join("digests")),
            settled: Duration::ZERO,
        };
        let engine = Engine::default();
        let plugin = dir.join("plugin.wasm");
        write_aged(&plugin, b"first", Duration::from_secs(60));

        // Hashed from its bytes; not trusted later without a compiled form.
        for _ in 0..2 {
            let first = cache.file_digest(&engine, &plugin).unwrap();
            assert_eq!(first.digest, digest(b"first"));
            assert_eq!(first.bytes.as_deref(), Some(&b"first"[..]));
        }
        let compiled = cache.compiled_path(&engine, &digest(b"first")).unwrap();
        write_atomically(&compiled, b"").unwrap();
        let remembered = cache.file_digest(&engine, &plugin).unwrap();
        assert_eq!(remembered.digest, digest(b"first"));
        assert!(remembered.bytes.is_none(), "the file was read again");

        // Same size and modification time, other bytes: the change time moved.
        write_aged(&plugin, b"other", Duration::from_secs(60));
        let changed = cache.file_digest(&engine, &plugin).unwrap();
        assert_eq!(changed.digest, digest(b"other"));
        assert!(changed.bytes.is_some());

        // With the real wait: its modification time was set back, but it
        // changed just now, so it is not remembered, even compiled.
        cache.settled = SETTLED;
        write_aged(&plugin, b"again", Duration::from_secs(60));
        let again_compiled = cache.compiled_path(&engine, &digest(b"again")).unwrap();
        write_atomically(&again_compiled, b"").unwrap();
        for _ in 0..2 {
            assert!(cache.file_digest(&engine, &plugin).unwrap().bytes.is_some());
        }

        // A file changed just now is hashed each time, never remembered.
        std::fs::write(&plugin, b"fresh").unwrap();
        let fresh_compiled = cache.compiled_path(&engine, &digest(b"fresh")).unwrap();
        write_atomically(&fresh_compiled, b"").unwrap();
        for _ in 0..2 {
            let fresh = cache.file_digest(&engine, &plugin).unwrap();
            assert_eq!(fresh.digest, digest(b"fresh"));
            assert!(fresh.bytes.is_some());
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
