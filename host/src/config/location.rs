//! Where data lives: a local folder, `file://` or `s3://` URI.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use url::Url;

/// A storage location, always absolute.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Location {
    url: Url,
    /// How to reach it, for `s3://` locations.
    storage: Option<Arc<StorageSettings>>,
}

/// A pipeline's `[storage]` settings (no secrets: credentials come from
/// the AWS chain when a store is built).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StorageSettings {
    pub region: Option<String>,
    pub endpoint: Option<String>,
    pub allow_http: bool,
    pub role_arn: Option<String>,
    pub role_session_name: Option<String>,
    pub max_retries: Option<usize>,
    pub retry_timeout_seconds: Option<u64>,
}

/// Storage option keys: Delta's storage options carry the settings to the
/// store factory, which reads them back.
const OPTION_PREFIX: &str = "lfhost_s3_";

impl StorageSettings {
    pub fn to_options(&self) -> HashMap<String, String> {
        let mut options = HashMap::new();
        let mut put = |name: &str, value: Option<String>| {
            if let Some(value) = value {
                options.insert(format!("{OPTION_PREFIX}{name}"), value);
            }
        };
        put("region", self.region.clone());
        put("endpoint", self.endpoint.clone());
        put("allow_http", Some(self.allow_http.to_string()));
        put("role_arn", self.role_arn.clone());
        put("role_session_name", self.role_session_name.clone());
        put("max_retries", self.max_retries.map(|n| n.to_string()));
        put(
            "retry_timeout_seconds",
            self.retry_timeout_seconds.map(|n| n.to_string()),
        );
        options
    }

    pub fn from_options(options: &HashMap<String, String>) -> StorageSettings {
        let get = |name: &str| options.get(&format!("{OPTION_PREFIX}{name}")).cloned();
        StorageSettings {
            region: get("region"),
            endpoint: get("endpoint"),
            allow_http: get("allow_http").is_some_and(|v| v == "true"),
            role_arn: get("role_arn"),
            role_session_name: get("role_session_name"),
            max_retries: get("max_retries").and_then(|v| v.parse().ok()),
            retry_timeout_seconds: get("retry_timeout_seconds").and_then(|v| v.parse().ok()),
        }
    }
}

impl Location {
    /// Parses `text`; a relative local path is taken relative to `base`.
    pub fn parse(text: &str, base: &Path) -> Result<Self, String> {
        if text.trim().is_empty() {
            return Err("empty location".to_string());
        }
        if text.contains("://") {
            let url = Url::parse(text).map_err(|e| format!("`{text}` is not a valid URI: {e}"))?;
            return match url.scheme() {
                "file" | "s3" => Ok(Location {
                    url: with_trailing_slash(url),
                    storage: None,
                }),
                other => Err(format!(
                    "`{text}`: unsupported scheme `{other}` (use a local path, file:// or s3://)"
                )),
            };
        }
        let path = normalize(&base.join(text));
        let url = Url::from_directory_path(&path)
            .map_err(|()| format!("`{}` is not an absolute path", path.display()))?;
        Ok(Location { url, storage: None })
    }

    /// The same location reached with `settings` (kept for `s3://` only).
    pub fn with_storage(mut self, settings: Option<Arc<StorageSettings>>) -> Location {
        self.storage = settings.filter(|_| self.is_s3());
        self
    }

    pub fn is_s3(&self) -> bool {
        self.url.scheme() == "s3"
    }

    /// The options Delta and the store factory need to reach it.
    pub fn storage_options(&self) -> HashMap<String, String> {
        self.storage
            .as_ref()
            .map(|s| s.to_options())
            .unwrap_or_default()
    }

    pub fn storage(&self) -> StorageSettings {
        self.storage.as_deref().cloned().unwrap_or_default()
    }

    pub fn url(&self) -> &Url {
        &self.url
    }

    /// A child folder, e.g. a table under the lake.
    pub fn join(&self, name: &str) -> Location {
        let mut url = self.url.clone();
        url.path_segments_mut()
            .map(|mut s| {
                s.pop_if_empty().push(name).push("");
            })
            .ok();
        Location {
            url,
            storage: self.storage.clone(),
        }
    }

    /// The local folder, when this is one.
    pub fn local_path(&self) -> Option<PathBuf> {
        if self.url.scheme() == "file" {
            self.url.to_file_path().ok()
        } else {
            None
        }
    }

    /// The URI without a trailing slash, as Delta readers expect a table URI.
    pub fn table_uri(&self) -> String {
        self.url.as_str().trim_end_matches('/').to_string()
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.local_path() {
            Some(path) => write!(f, "{}", path.display()),
            None => f.write_str(&self.table_uri()),
        }
    }
}

fn with_trailing_slash(mut url: Url) -> Url {
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url
}

// Lexical clean-up, so that `a/../b` and `./b` name the same table.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_use_the_base() {
        let loc = Location::parse("data/../lake", Path::new("/p")).unwrap();
        assert_eq!(loc.url().as_str(), "file:///p/lake/");
        assert_eq!(loc.join("t").table_uri(), "file:///p/lake/t");
        assert_eq!(loc.to_string(), "/p/lake/");
    }

    #[test]
    fn uris_are_kept() {
        let loc = Location::parse("s3://bucket/prefix", Path::new("/p")).unwrap();
        assert_eq!(loc.join("t").table_uri(), "s3://bucket/prefix/t");
        assert!(
            Location::parse("ftp://x/y", Path::new("/"))
                .unwrap_err()
                .contains("unsupported scheme")
        );
    }
}
