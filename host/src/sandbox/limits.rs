//! What one plugin instance may consume.

/// Per-flow limits, configurable per pipeline and per table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Linear memory of the instance (all memories together).
    pub memory_bytes: usize,
    /// Wall-clock seconds the flow may spend inside the plugin, enforced by
    /// epoch interruption.
    pub cpu_seconds: u64,
    /// The largest single IPC batch the plugin may emit.
    pub max_batch_bytes: usize,
    /// All IPC bytes the flow may emit.
    pub max_output_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 1 << 30,
            cpu_seconds: 600,
            max_batch_bytes: 256 << 20,
            max_output_bytes: 64 << 30,
        }
    }
}

impl Limits {
    pub fn memory_mib(&self) -> usize {
        self.memory_bytes >> 20
    }
}
