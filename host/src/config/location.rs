//! Where data lives: a local folder, `file://` or `s3://` URI.

use std::path::{Component, Path, PathBuf};

use url::Url;

/// A storage location, always absolute.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Location {
    url: Url,
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
                }),
                other => Err(format!(
                    "`{text}`: unsupported scheme `{other}` (use a local path, file:// or s3://)"
                )),
            };
        }
        let path = normalize(&base.join(text));
        let url = Url::from_directory_path(&path)
            .map_err(|()| format!("`{}` is not an absolute path", path.display()))?;
        Ok(Location { url })
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
        Location { url }
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
