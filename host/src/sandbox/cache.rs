//! Compiled components on disk: Cranelift takes seconds for a plugin, loading
//! a precompiled one takes milliseconds.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// A folder of `.cwasm` files keyed by component digest and engine settings.
#[derive(Debug, Clone)]
pub struct ComponentCache {
    dir: Option<PathBuf>,
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
            dir: dir.map(|d| d.join("components")),
        }
    }

    /// Loads `bytes` (whose sha256 is `digest`) compiled, compiling and
    /// storing it on a miss. A cache that cannot be read or written only costs
    /// time.
    pub fn load(&self, engine: &Engine, digest: &str, bytes: &[u8]) -> wasmtime::Result<Component> {
        let Some(dir) = &self.dir else {
            return Component::new(engine, bytes);
        };
        let path = dir.join(format!("{digest}-{}.cwasm", engine_key(engine)));
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
        let component = Component::new(engine, bytes)?;
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

fn store(path: &Path, component: &Component) -> Result<(), Box<dyn std::error::Error>> {
    let dir = path.parent().ok_or("no parent folder")?;
    std::fs::create_dir_all(dir)?;
    let bytes = component.serialize()?;
    // Write then rename, so a concurrent or killed run never reads half a file.
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        std::process::id(),
        uuid::Uuid::new_v4()
    ));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}
