//! The platform file (`tenants.toml`): who may run what, where, within
//! which quotas. A platform team writes it; each tenant's pipeline file
//! names its tenant (`[pipeline] tenant = "sales"`), and `lfhost run
//! --tenants tenants.toml a.toml b.toml` runs them side by side.
//!
//!     [tenants.sales]
//!     namespace = "acme.sales"          # catalog.schema
//!     storage = "lakes/sales"           # its tables: <storage>/<table>
//!     plugins = ["<sha256>", ...]       # the components it may run
//!     role_arn = "arn:aws:iam::1:role/x" # its own S3 role (optional)
//!     [tenants.sales.quotas]
//!     memory_mib = 512                  # per plugin instance
//!     cpu_seconds = 60                  # per flow
//!     max_batch_mib = 64
//!     max_output_mib = 4096             # per flow
//!     max_instances = 2                 # plugin instances at once
//!     run_seconds = 900                 # the whole run, wall clock
//!     cpu_seconds_per_run = 600         # all its flows together

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;

use crate::config::{Location, Pipeline};
use crate::sandbox::Limits;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlatformFile {
    tenants: BTreeMap<String, TenantDecl>,
    #[serde(default)]
    grants: Vec<Grant>,
}

/// Lets tenant `to` read one table of another tenant (like `GRANT SELECT`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    pub to: String,
    /// `catalog.schema.table`.
    pub select: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TenantDecl {
    namespace: String,
    storage: String,
    /// The IAM role its runs assume on S3 (each tenant its own).
    #[serde(default)]
    role_arn: Option<String>,
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    plugins: Option<Vec<String>>,
    #[serde(default)]
    quotas: Quotas,
}

/// A tenant's caps: each lowers the matching limit of every table.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Quotas {
    pub memory_mib: Option<usize>,
    pub cpu_seconds: Option<u64>,
    pub max_batch_mib: Option<usize>,
    pub max_output_mib: Option<u64>,
    /// Plugin instances of the tenant running at once.
    pub max_instances: Option<usize>,
    /// Wall-clock seconds for the tenant's whole run.
    pub run_seconds: Option<u64>,
    /// Seconds all of a run's flows may spend together.
    pub cpu_seconds_per_run: Option<u64>,
}

impl Quotas {
    /// `limits`, lowered to these quotas.
    pub fn cap(&self, limits: &Limits) -> Limits {
        let mut capped = limits.clone();
        if let Some(mib) = self.memory_mib {
            capped.memory_bytes = capped.memory_bytes.min(mib.saturating_mul(1 << 20));
        }
        if let Some(seconds) = self.cpu_seconds {
            capped.cpu_seconds = capped.cpu_seconds.min(seconds);
        }
        if let Some(mib) = self.max_batch_mib {
            capped.max_batch_bytes = capped.max_batch_bytes.min(mib.saturating_mul(1 << 20));
        }
        if let Some(mib) = self.max_output_mib {
            capped.max_output_bytes = capped.max_output_bytes.min(mib.saturating_mul(1 << 20));
        }
        capped
    }
}

#[derive(Debug, Clone)]
pub struct Tenant {
    pub name: String,
    pub namespace: String,
    pub storage: Location,
    pub role_arn: Option<String>,
    pub region: Option<String>,
    /// The component digests it may run; `None`: any.
    pub plugins: Option<BTreeSet<String>>,
    pub quotas: Quotas,
}

#[derive(Debug, Clone)]
pub struct Platform {
    pub path: String,
    pub tenants: BTreeMap<String, Arc<Tenant>>,
    pub grants: Vec<Grant>,
}

impl Platform {
    pub fn load(path: &Path) -> Result<Platform, String> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{shown}: cannot read the platform file: {e}"))?;
        let file: PlatformFile = toml::from_str(&text).map_err(|e| format!("{shown}: {e}"))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let mut tenants = BTreeMap::new();
        let mut namespaces = BTreeMap::new();
        for (name, decl) in file.tenants {
            let fail = |message: String| format!("{shown}: tenant `{name}`: {message}");
            let parts: Vec<&str> = decl.namespace.split('.').collect();
            if parts.len() != 2 || parts.iter().any(|p| !is_identifier(p)) {
                return Err(fail(format!(
                    "namespace `{}` is not `catalog.schema`",
                    decl.namespace
                )));
            }
            if let Some(other) = namespaces.insert(decl.namespace.clone(), name.clone()) {
                return Err(fail(format!(
                    "namespace `{}` is tenant `{other}`'s too",
                    decl.namespace
                )));
            }
            let storage = Location::parse(&decl.storage, base).map_err(fail)?;
            if let Some(arn) = &decl.role_arn
                && !(arn.starts_with("arn:") && arn.contains(":role/"))
            {
                return Err(fail(format!("`{arn}` is not an IAM role ARN")));
            }
            let plugins = match decl.plugins {
                None => None,
                Some(digests) => {
                    let mut allowed = BTreeSet::new();
                    for digest in digests {
                        let digest = digest.trim_start_matches("sha256:").to_ascii_lowercase();
                        if digest.len() != 64 || !digest.chars().all(|c| c.is_ascii_hexdigit()) {
                            return Err(fail(format!("`{digest}` is not a sha256 digest")));
                        }
                        allowed.insert(digest);
                    }
                    Some(allowed)
                }
            };
            if decl.quotas.max_instances == Some(0) {
                return Err(fail("max_instances must be at least 1".to_string()));
            }
            tenants.insert(
                name.clone(),
                Arc::new(Tenant {
                    name,
                    namespace: decl.namespace,
                    storage,
                    role_arn: decl.role_arn,
                    region: decl.region,
                    plugins,
                    quotas: decl.quotas,
                }),
            );
        }
        // Storage prefixes must not nest: a tenant would reach another's tables.
        let all: Vec<&Arc<Tenant>> = tenants.values().collect();
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                let (x, y) = (a.storage.url().as_str(), b.storage.url().as_str());
                if x.starts_with(y) || y.starts_with(x) {
                    return Err(format!(
                        "{shown}: tenants `{}` and `{}` have nested storage ({} and {})",
                        a.name, b.name, a.storage, b.storage
                    ));
                }
            }
        }
        for grant in &file.grants {
            if !tenants.contains_key(&grant.to) {
                return Err(format!("{shown}: a grant to unknown tenant `{}`", grant.to));
            }
            if !crate::config::is_qualified(&grant.select) {
                return Err(format!(
                    "{shown}: grant to `{}`: `{}` is not `catalog.schema.table`",
                    grant.to, grant.select
                ));
            }
        }
        Ok(Platform {
            path: shown,
            tenants,
            grants: file.grants,
        })
    }

    /// Puts `pipeline` under its tenant's rules: tables in the tenant's
    /// storage, every table's limits capped by its quotas.
    pub fn admit(&self, pipeline: &mut Pipeline) -> Result<Arc<Tenant>, String> {
        let source = pipeline.source.path.display().to_string();
        let Some(name) = &pipeline.tenant else {
            return Err(format!(
                "{source}: the pipeline names no tenant: add `tenant = \"...\"` to its [pipeline] (tenants are declared in {})",
                self.path
            ));
        };
        let tenant = self.tenants.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.tenants.keys().map(String::as_str).collect();
            format!(
                "{source}: tenant `{name}` is not declared in {} (tenants: {})",
                self.path,
                known.join(", ")
            )
        })?;
        // The pipeline's [storage] settings (endpoint, retries), with the
        // tenant's own role and region.
        let mut settings = pipeline.storage.as_deref().cloned().unwrap_or_default();
        if let Some(role) = &tenant.role_arn {
            settings.role_arn = Some(role.clone());
        }
        if let Some(region) = &tenant.region {
            settings.region = Some(region.clone());
        }
        let settings = Arc::new(settings);
        pipeline.storage = Some(settings.clone());
        pipeline.lake = tenant.storage.clone().with_storage(Some(settings.clone()));
        for table in pipeline.tables.values_mut() {
            table.limits = tenant.quotas.cap(&table.limits);
            // Landing files too are read as the tenant.
            if let Some(source) = &mut table.source {
                source.location = source.location.clone().with_storage(Some(settings.clone()));
            }
        }
        self.resolve_externals(pipeline, tenant)?;
        Ok(tenant.clone())
    }
}

impl Platform {
    /// Gives each `catalog.schema.table` input its location: a table of the
    /// tenant's own namespace is one of its pipeline's; another tenant's
    /// needs a grant.
    fn resolve_externals(&self, pipeline: &mut Pipeline, tenant: &Tenant) -> Result<(), String> {
        let names: Vec<String> = pipeline.externals.keys().cloned().collect();
        for name in names {
            let at = pipeline
                .externals
                .get(&name)
                .map(|e| format!("{}: table `{}`", pipeline.locate(&e.span), e.reader))
                .unwrap_or_default();
            let (namespace, table) = name.rsplit_once('.').unwrap_or(("", name.as_str()));
            if namespace == tenant.namespace {
                return Err(format!(
                    "{at}: `{name}` is in the tenant's own namespace: name it `{table}`"
                ));
            }
            let Some(owner) = self.tenants.values().find(|t| t.namespace == namespace) else {
                return Err(format!(
                    "{at}: no tenant has namespace `{namespace}` (reading `{name}`)"
                ));
            };
            let granted = self
                .grants
                .iter()
                .any(|g| g.to == tenant.name && g.select == name);
            if !granted {
                return Err(format!(
                    "{at}: tenant `{}` may not read `{name}` (tenant `{}`'s): {} has no grant for it",
                    tenant.name, owner.name, self.path
                ));
            }
            // Read with the reader's credentials: on S3 its role's policy
            // must allow the owner's prefix too.
            let location = owner
                .storage
                .clone()
                .with_storage(pipeline.storage.clone())
                .join(table);
            if let Some(external) = pipeline.externals.get_mut(&name) {
                external.location = Some(location);
            }
        }
        Ok(())
    }
}

/// Checks that every plugin of a planned pipeline is one `tenant` may run.
pub fn check_plugins(
    tenant: &Tenant,
    plugins: impl IntoIterator<Item = (String, String)>,
) -> Result<(), String> {
    let Some(allowed) = &tenant.plugins else {
        return Ok(());
    };
    for (name, digest) in plugins {
        if !allowed.contains(&digest) {
            return Err(format!(
                "tenant `{}` may not run plugin `{name}` (sha256 {digest}): it is not among the tenant's plugins",
                tenant.name
            ));
        }
    }
    Ok(())
}

fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotas_lower_limits_and_never_raise_them() {
        let quotas = Quotas {
            memory_mib: Some(64),
            cpu_seconds: Some(5000),
            max_batch_mib: None,
            max_output_mib: Some(1),
            max_instances: Some(2),
            run_seconds: None,
            cpu_seconds_per_run: None,
        };
        let capped = quotas.cap(&Limits::default());
        assert_eq!(capped.memory_mib(), 64);
        assert_eq!(capped.cpu_seconds, Limits::default().cpu_seconds);
        assert_eq!(capped.max_batch_bytes, Limits::default().max_batch_bytes);
        assert_eq!(capped.max_output_bytes, 1 << 20);
    }

    #[test]
    fn platform_files_are_checked() {
        let dir = std::env::temp_dir().join(format!("lfhost-tenants-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let write = |text: &str| {
            let path = dir.join("tenants.toml");
            std::fs::write(&path, text).expect("write");
            Platform::load(&path)
        };
        let ok = write(
            "[tenants.a]\nnamespace = \"acme.a\"\nstorage = \"lakes/a\"\n\
             [tenants.b]\nnamespace = \"acme.b\"\nstorage = \"lakes/b\"\nplugins = [\"sha256:ABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB\"]\n",
        )
        .expect("valid");
        assert_eq!(ok.tenants.len(), 2);
        assert!(
            ok.tenants["b"]
                .plugins
                .as_ref()
                .expect("list")
                .contains(&"ab".repeat(32))
        );
        let error = |text: &str| write(text).expect_err("invalid");
        assert!(
            error("[tenants.a]\nnamespace = \"acme\"\nstorage = \"x\"\n")
                .contains("not `catalog.schema`")
        );
        assert!(
            error("[tenants.a]\nnamespace = \"acme.a\"\nstorage = \"x\"\n[tenants.b]\nnamespace = \"acme.a\"\nstorage = \"y\"\n")
                .contains("tenant `a`'s too")
        );
        assert!(
            error("[tenants.a]\nnamespace = \"acme.a\"\nstorage = \"x\"\n[tenants.b]\nnamespace = \"acme.b\"\nstorage = \"x/y\"\n")
                .contains("nested storage")
        );
        assert!(
            error("[tenants.a]\nnamespace = \"acme.a\"\nstorage = \"x\"\nplugins = [\"12\"]\n")
                .contains("not a sha256")
        );
        assert!(
            error("[tenants.a]\nnamespace = \"acme.a\"\nstorage = \"x\"\nbogus = 1\n")
                .contains("bogus")
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
