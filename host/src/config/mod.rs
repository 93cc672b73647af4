//! The pipeline file: parsing, variables, and the checks that need no plugin.

mod error;
mod location;
mod model;
mod source_map;
mod vars;

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

pub use error::{ConfigError, ConfigProblem};
pub use location::{Location, StorageSettings};
pub use source_map::SourceMap;

use crate::sandbox::Limits;
use model::{LimitsDecl, PipelineFile, StorageDecl};
use vars::Vars;

/// A pipeline ready to plan: every name checked, every location resolved.
#[derive(Debug, Clone)]
pub struct Pipeline {
    pub name: String,
    pub description: Option<String>,
    /// The tenant it runs as, under a platform file.
    pub tenant: Option<String>,
    /// `[storage]`, as every `s3://` location of the pipeline has it.
    pub storage: Option<std::sync::Arc<StorageSettings>>,
    pub source: SourceMap,
    pub lake: Location,
    pub plugins: BTreeMap<String, PluginRef>,
    pub tables: BTreeMap<String, TableSpec>,
    /// Inputs named `catalog.schema.table`: other tenants' tables, reachable
    /// only through a platform file's grant (which sets their location).
    pub externals: BTreeMap<String, External>,
}

/// Another namespace's table that a table reads.
#[derive(Debug, Clone)]
pub struct External {
    /// The first table that reads it, and where, for messages.
    pub reader: String,
    pub span: Range<usize>,
    /// Set once a grant allows the read.
    pub location: Option<Location>,
    /// Its schema, read from the table when the run starts.
    pub schema: Option<arrow_schema::SchemaRef>,
}

/// Whether `name` is qualified, `catalog.schema.table`.
pub fn is_qualified(name: &str) -> bool {
    let parts: Vec<&str> = name.split('.').collect();
    parts.len() == 3 && parts.iter().all(|p| check_table_name(p).is_ok())
}

#[derive(Debug, Clone)]
pub struct PluginRef {
    pub name: String,
    pub path: PathBuf,
    pub sha256: Option<String>,
    pub span: Range<usize>,
}

#[derive(Debug, Clone)]
pub struct TableSpec {
    pub name: String,
    pub plugin: String,
    /// Landing files, for ingest tables.
    pub source: Option<SourceSpec>,
    /// Upstream tables, for the others.
    pub inputs: Vec<String>,
    /// The `options` table as JSON, as plugins receive it.
    pub options_json: String,
    pub limits: Limits,
    /// Where rows dropped by expectations go (a table of its own).
    pub quarantine: Option<String>,
    pub comment: Option<String>,
    pub span: Range<usize>,
}

#[derive(Debug, Clone)]
pub struct SourceSpec {
    pub location: Location,
    pub pattern: String,
}

impl Pipeline {
    /// Reads and checks `path`, with `overrides` from `--var k=v`.
    pub fn load(path: &Path, overrides: &[(String, String)]) -> Result<Pipeline, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::single(
                path.display().to_string(),
                None,
                format!("cannot read the pipeline file: {e}"),
            )
        })?;
        let dir = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let dir = std::path::absolute(&dir).unwrap_or(dir);
        let cwd = std::env::current_dir().unwrap_or_else(|_| dir.clone());
        Self::parse(SourceMap::new(path, text), &dir, &cwd, overrides)
    }

    /// Checks the text of a pipeline file. `dir` resolves relative paths in
    /// the file, `cwd` those given on the command line.
    pub fn parse(
        source: SourceMap,
        dir: &Path,
        cwd: &Path,
        overrides: &[(String, String)],
    ) -> Result<Pipeline, ConfigError> {
        let file: PipelineFile = toml::from_str(&source.text).map_err(|e| {
            let location = e.span().map_or_else(
                || source.path.display().to_string(),
                |s| source.locate_span(&s),
            );
            ConfigError::single(location, None, e.message().trim().to_string())
        })?;
        Resolver {
            source: &source,
            problems: Vec::new(),
            storage: None,
        }
        .resolve(file, dir, cwd, overrides)
    }

    /// The folder of a table inside the lake.
    pub fn table_location(&self, table: &str) -> Location {
        match self.externals.get(table).and_then(|e| e.location.clone()) {
            Some(location) => location,
            None => self.lake.join(table),
        }
    }

    /// The location of a span, for messages.
    pub fn locate(&self, span: &Range<usize>) -> String {
        self.source.locate_span(span)
    }
}

struct Resolver<'a> {
    source: &'a SourceMap,
    problems: Vec<ConfigProblem>,
    /// `[storage]`, given to every `s3://` location.
    storage: Option<std::sync::Arc<StorageSettings>>,
}

impl Resolver<'_> {
    fn problem(&mut self, span: &Range<usize>, table: Option<&str>, message: impl Into<String>) {
        self.problems.push(ConfigProblem {
            location: self.source.locate_span(span),
            table: table.map(str::to_string),
            message: message.into(),
        });
    }

    fn resolve(
        mut self,
        file: PipelineFile,
        dir: &Path,
        cwd: &Path,
        overrides: &[(String, String)],
    ) -> Result<Pipeline, ConfigError> {
        let mut vars = Vars::new(dir, cwd);
        for (name, value) in &file.vars {
            vars.declare(name, value.get_ref());
        }
        for (name, value) in overrides {
            vars.set_from_command_line(name, value);
        }

        self.storage = file
            .storage
            .as_ref()
            .map(|s| std::sync::Arc::new(self.storage_settings(&vars, s.get_ref())));
        let lake = self.location(&vars, &file.pipeline.lake, None);
        let plugins = self.plugins(&file, &vars);
        let defaults = Limits::default().with(file.limits.as_ref().map(|l| l.get_ref()));

        let mut tables = BTreeMap::new();
        let mut externals = BTreeMap::new();
        for (name, decl) in &file.tables {
            let span = decl.span();
            let name_span = name.span();
            let name = name.get_ref().clone();
            if let Err(message) = check_table_name(&name) {
                self.problem(&name_span, Some(&name), message);
            }
            let decl = decl.get_ref();
            if !plugins.contains_key(decl.plugin.get_ref()) {
                let known: Vec<&str> = plugins.keys().map(String::as_str).collect();
                self.problem(
                    &decl.plugin.span(),
                    Some(&name),
                    format!(
                        "unknown plugin `{}` (declared plugins: {})",
                        decl.plugin.get_ref(),
                        list_or_none(&known)
                    ),
                );
            }
            let source = decl.source.as_ref().and_then(|s| {
                let s = s.get_ref();
                let location = self.location(&vars, &s.path, Some(&name))?;
                if let Err(e) = globset::Glob::new(s.pattern.get_ref()) {
                    self.problem(
                        &s.pattern.span(),
                        Some(&name),
                        format!("invalid file pattern: {e}"),
                    );
                }
                Some(SourceSpec {
                    location,
                    pattern: s.pattern.get_ref().clone(),
                })
            });
            if decl.source.is_some() && !decl.inputs.is_empty() {
                self.problem(
                    &span,
                    Some(&name),
                    "a table reads either landing files (`source`) or tables (`inputs`), not both",
                );
            }
            if decl.source.is_none() && decl.inputs.is_empty() {
                self.problem(
                    &span,
                    Some(&name),
                    "a table needs a `source` (landing files) or `inputs` (tables)",
                );
            }
            for input in &decl.inputs {
                if is_qualified(input.get_ref()) {
                    externals
                        .entry(input.get_ref().clone())
                        .or_insert_with(|| External {
                            reader: name.clone(),
                            span: input.span(),
                            location: None,
                            schema: None,
                        });
                    continue;
                }
                if !file.tables.keys().any(|k| k.get_ref() == input.get_ref()) {
                    self.problem(
                        &input.span(),
                        Some(&name),
                        format!("unknown input table `{}`", input.get_ref()),
                    );
                }
            }
            if let Some(q) = &decl.quarantine {
                let clash = file.tables.keys().any(|k| k.get_ref() == q.get_ref())
                    || file
                        .tables
                        .values()
                        .filter_map(|t| t.get_ref().quarantine.as_ref())
                        .filter(|o| o.get_ref() == q.get_ref())
                        .count()
                        > 1;
                if let Err(message) = check_table_name(q.get_ref()) {
                    self.problem(&q.span(), Some(&name), format!("quarantine: {message}"));
                } else if clash {
                    self.problem(
                        &q.span(),
                        Some(&name),
                        format!(
                            "quarantine table `{}` is already used by another table",
                            q.get_ref()
                        ),
                    );
                }
            }
            let options_json = match &decl.options {
                Some(options) => {
                    serde_json::to_string(options.get_ref()).unwrap_or_else(|_| "{}".to_string())
                }
                None => "{}".to_string(),
            };
            tables.insert(
                name.clone(),
                TableSpec {
                    name,
                    plugin: decl.plugin.get_ref().clone(),
                    source,
                    inputs: decl.inputs.iter().map(|i| i.get_ref().clone()).collect(),
                    options_json,
                    limits: defaults.with(decl.limits.as_ref().map(|l| l.get_ref())),
                    quarantine: decl.quarantine.as_ref().map(|q| q.get_ref().clone()),
                    comment: decl.comment.clone(),
                    span,
                },
            );
        }
        for message in vars.undeclared_overrides() {
            self.problems.push(ConfigProblem {
                location: "--var".to_string(),
                table: None,
                message,
            });
        }
        if let Err(cycle) = crate::dag::Dag::new(&tables).map(|_| ()) {
            let span = tables
                .get(&cycle.first().cloned().unwrap_or_default())
                .map(|t| t.span.clone())
                .unwrap_or(0..0);
            self.problem(
                &span,
                None,
                format!("the tables form a cycle: {}", cycle.join(" -> ")),
            );
        }
        match (self.problems.is_empty(), lake) {
            (true, Some(lake)) => Ok(Pipeline {
                name: file.pipeline.name.get_ref().clone(),
                description: file.pipeline.description.clone(),
                tenant: file.pipeline.tenant.as_ref().map(|t| t.get_ref().clone()),
                storage: self.storage.clone(),
                source: self.source.clone(),
                lake,
                plugins,
                tables,
                externals,
            }),
            _ => Err(ConfigError {
                problems: self.problems,
            }),
        }
    }

    fn storage_settings(&mut self, vars: &Vars, decl: &StorageDecl) -> StorageSettings {
        let mut text = |value: &Option<serde_spanned::Spanned<String>>| {
            let value = value.as_ref()?;
            match vars.expand(value.get_ref()) {
                // An empty value (say, a variable left at its "" default) means unset.
                Ok((expanded, _)) if expanded.trim().is_empty() => None,
                Ok((expanded, _)) => Some((expanded, value.span())),
                Err(message) => {
                    self.problem(&value.span(), None, message);
                    None
                }
            }
        };
        let region = text(&decl.region);
        let endpoint = text(&decl.endpoint);
        let role_arn = text(&decl.role_arn);
        let session = text(&decl.role_session_name);
        if let Some((endpoint, span)) = &endpoint {
            match url::Url::parse(endpoint) {
                Ok(url) if url.scheme() == "http" && !decl.allow_http => self.problem(
                    span,
                    None,
                    format!("`{endpoint}` is plain HTTP: set `allow_http = true` to allow it"),
                ),
                Ok(url) if matches!(url.scheme(), "http" | "https") => {}
                _ => self.problem(span, None, format!("`{endpoint}` is not an http(s) URL")),
            }
        }
        if let Some((arn, span)) = &role_arn
            && !(arn.starts_with("arn:") && arn.contains(":iam::") && arn.contains(":role/"))
        {
            self.problem(
                span,
                None,
                format!("`{arn}` is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)"),
            );
        }
        StorageSettings {
            region: region.map(|(r, _)| r),
            endpoint: endpoint.map(|(e, _)| e),
            allow_http: decl.allow_http,
            role_arn: role_arn.map(|(a, _)| a),
            role_session_name: session.map(|(s, _)| s),
            max_retries: decl.max_retries,
            retry_timeout_seconds: decl.retry_timeout_seconds,
        }
    }

    fn location(
        &mut self,
        vars: &Vars,
        text: &serde_spanned::Spanned<String>,
        table: Option<&str>,
    ) -> Option<Location> {
        match vars.expand(text.get_ref()) {
            Ok((expanded, base)) => match Location::parse(&expanded, &base) {
                Ok(location) => Some(location.with_storage(self.storage.clone())),
                Err(message) => {
                    self.problem(&text.span(), table, message);
                    None
                }
            },
            Err(message) => {
                self.problem(&text.span(), table, message);
                None
            }
        }
    }

    fn plugins(&mut self, file: &PipelineFile, vars: &Vars) -> BTreeMap<String, PluginRef> {
        let mut plugins = BTreeMap::new();
        for (name, decl) in &file.plugins {
            let span = decl.span();
            let decl = decl.get_ref();
            let sha256 = decl.sha256.as_ref().and_then(|d| {
                let digest = d.get_ref().to_ascii_lowercase();
                if digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit()) {
                    Some(digest)
                } else {
                    self.problem(
                        &d.span(),
                        None,
                        format!("plugin `{name}`: sha256 must be 64 hex digits"),
                    );
                    None
                }
            });
            let path = match vars.expand(decl.path.get_ref()) {
                Ok((expanded, base)) => base.join(expanded),
                Err(message) => {
                    self.problem(
                        &decl.path.span(),
                        None,
                        format!("plugin `{name}`: {message}"),
                    );
                    // Kept, so that its tables are not also reported as
                    // using an unknown plugin.
                    PathBuf::from(decl.path.get_ref())
                }
            };
            plugins.insert(
                name.clone(),
                PluginRef {
                    name: name.clone(),
                    path,
                    sha256,
                    span,
                },
            );
        }
        plugins
    }
}

impl Limits {
    fn with(&self, decl: Option<&LimitsDecl>) -> Limits {
        let Some(decl) = decl else {
            return self.clone();
        };
        let mib = |v: u64| usize::try_from(v.saturating_mul(1 << 20)).unwrap_or(usize::MAX);
        Limits {
            memory_bytes: decl.memory_mib.map_or(self.memory_bytes, mib),
            cpu_seconds: decl.cpu_seconds.unwrap_or(self.cpu_seconds),
            max_batch_bytes: decl.max_batch_mib.map_or(self.max_batch_bytes, mib),
            max_output_bytes: decl
                .max_output_mib
                .map_or(self.max_output_bytes, |v| v.saturating_mul(1 << 20)),
        }
    }
}

fn check_table_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let valid_start = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    if valid_start && chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        Ok(())
    } else {
        Err("a table name starts with a letter and has only letters, digits and `_`".to_string())
    }
}

fn list_or_none(names: &[&str]) -> String {
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

#[cfg(test)]
mod tests;
