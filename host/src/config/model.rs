//! The pipeline file as written: serde types mirroring the TOML.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_spanned::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineFile {
    pub pipeline: PipelineSection,
    #[serde(default)]
    pub vars: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    pub plugins: BTreeMap<String, Spanned<PluginDecl>>,
    /// Pipeline-wide defaults for every table's sandbox limits.
    #[serde(default)]
    pub limits: Option<Spanned<LimitsDecl>>,
    #[serde(default)]
    pub tables: BTreeMap<Spanned<String>, Spanned<TableDecl>>,
    /// How to reach `s3://` locations.
    #[serde(default)]
    pub storage: Option<Spanned<StorageDecl>>,
}

/// `[storage]`: settings for S3 and S3-compatible stores. Credentials are
/// never written here: they come from the standard AWS chain.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageDecl {
    #[serde(default)]
    pub region: Option<Spanned<String>>,
    /// An S3-compatible endpoint, e.g. `http://127.0.0.1:9000`.
    #[serde(default)]
    pub endpoint: Option<Spanned<String>>,
    #[serde(default)]
    pub allow_http: bool,
    /// A role to assume (STS AssumeRole) with the chain's credentials.
    #[serde(default)]
    pub role_arn: Option<Spanned<String>>,
    #[serde(default)]
    pub role_session_name: Option<Spanned<String>>,
    #[serde(default)]
    pub max_retries: Option<usize>,
    #[serde(default)]
    pub retry_timeout_seconds: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineSection {
    pub name: Spanned<String>,
    /// Where tables are written: `<lake>/<table>/`.
    pub lake: Spanned<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// The tenant it runs as, under `lfhost run --tenants`.
    #[serde(default)]
    pub tenant: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginDecl {
    pub path: Spanned<String>,
    #[serde(default)]
    pub sha256: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableDecl {
    pub plugin: Spanned<String>,
    #[serde(default)]
    pub source: Option<Spanned<SourceDecl>>,
    #[serde(default)]
    pub inputs: Vec<Spanned<String>>,
    #[serde(default)]
    pub options: Option<Spanned<toml::Table>>,
    #[serde(default)]
    pub limits: Option<Spanned<LimitsDecl>>,
    /// A table that receives the rows this table's expectations drop.
    #[serde(default)]
    pub quarantine: Option<Spanned<String>>,
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceDecl {
    pub path: Spanned<String>,
    pub pattern: Spanned<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsDecl {
    pub memory_mib: Option<u64>,
    pub cpu_seconds: Option<u64>,
    pub max_batch_mib: Option<u64>,
    pub max_output_mib: Option<u64>,
}
