//! Which builds of the WIT contract this host can run.
//!
//! A component names the contract version it was built against in every
//! `lfhost:plugin/...@X.Y.Z` import and export. Checking that version
//! before linking turns what would be a linker error about a missing
//! function into one that names both versions and what to do.

use semver::Version;

/// The WIT package both sides speak.
pub const PACKAGE: &str = "lfhost:plugin";

/// The version of `wit/lfhost.wit` this host implements.
pub const HOST_VERSION: &str = "0.1.3";

/// The contract version a component was built against, if this host can run it.
pub fn check(imports: &[String], exports: &[String]) -> Result<Version, String> {
    let host = host_version();
    let prefix = format!("{PACKAGE}/");
    let stage = exports
        .iter()
        .find(|name| name.starts_with(&format!("{PACKAGE}/stage@")))
        .ok_or_else(|| {
            format!(
                "it exports no `{PACKAGE}/stage` interface, so it was not built for lfhost's \
                 world `stage-plugin` (it exports: {})",
                listed(exports)
            )
        })?;
    let built = version_of(stage)?;
    for name in imports
        .iter()
        .chain(exports)
        .filter(|n| n.starts_with(&prefix))
    {
        let version = version_of(name)?;
        if version != built {
            return Err(format!("it mixes contract versions: {stage} but {name}"));
        }
    }
    if compatibility_key(&built) != compatibility_key(&host) {
        return Err(format!(
            "it was built for {PACKAGE}@{built}, but this host implements {PACKAGE}@{host}, \
             an incompatible version of the contract: rebuild the plugin against this \
             lfhost's wit/ (see docs/plugins.md, \"Versioning\")"
        ));
    }
    if built > host {
        return Err(format!(
            "it was built for {PACKAGE}@{built}, newer than the {PACKAGE}@{host} this host \
             implements: upgrade lfhost"
        ));
    }
    Ok(built)
}

pub fn host_version() -> Version {
    // A constant checked by a unit test against the WIT file; cannot fail.
    Version::parse(HOST_VERSION).unwrap_or_else(|_| Version::new(0, 0, 0))
}

fn version_of(name: &str) -> Result<Version, String> {
    let text = name
        .rsplit_once('@')
        .map(|(_, v)| v)
        .ok_or_else(|| format!("`{name}` carries no contract version"))?;
    Version::parse(text).map_err(|e| format!("`{name}` has an unreadable version: {e}"))
}

/// Versions with the same key are compatible (semver: the major, or the
/// minor while the major is 0, or the patch while both are 0).
fn compatibility_key(v: &Version) -> (u64, u64, u64) {
    match (v.major, v.minor) {
        (0, 0) => (0, 0, v.patch),
        (0, minor) => (0, minor, 0),
        (major, _) => (major, 0, 0),
    }
}

fn listed(names: &[String]) -> String {
    if names.is_empty() {
        "nothing".to_string()
    } else {
        names.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(version: &str) -> (Vec<String>, Vec<String>) {
        (
            vec![
                format!("{PACKAGE}/host@{version}"),
                "wasi:cli/stderr@0.2.6".to_string(),
            ],
            vec![format!("{PACKAGE}/stage@{version}")],
        )
    }

    #[test]
    fn host_version_is_the_wit_package_version() {
        let wit = include_str!("../../../wit/lfhost.wit");
        assert!(
            wit.contains(&format!("package {PACKAGE}@{HOST_VERSION};")),
            "wit/lfhost.wit and HOST_VERSION disagree"
        );
    }

    #[test]
    fn same_and_older_patch_are_accepted() {
        let (i, e) = names(HOST_VERSION);
        assert_eq!(check(&i, &e), Ok(host_version()));
        let (i, e) = names("0.1.0");
        assert_eq!(check(&i, &e), Ok(Version::new(0, 1, 0)));
    }

    #[test]
    fn another_major_names_both_versions() {
        let (i, e) = names("1.0.0");
        let err = check(&i, &e).unwrap_err();
        assert!(err.contains("lfhost:plugin@1.0.0"), "{err}");
        assert!(
            err.contains(&format!("lfhost:plugin@{HOST_VERSION}")),
            "{err}"
        );
        let (i, e) = names("0.2.0");
        assert!(check(&i, &e).unwrap_err().contains("incompatible"));
    }

    #[test]
    fn newer_patch_asks_for_an_upgrade() {
        let (i, e) = names("0.1.9");
        assert!(check(&i, &e).unwrap_err().contains("upgrade lfhost"));
    }

    #[test]
    fn no_stage_export_is_not_a_plugin() {
        let err = check(&[], &["wasi:cli/run@0.2.6".to_string()]).unwrap_err();
        assert!(err.contains("exports no `lfhost:plugin/stage`"), "{err}");
        assert!(err.contains("wasi:cli/run@0.2.6"), "{err}");
    }

    #[test]
    fn mixed_versions_are_refused() {
        let i = vec![format!("{PACKAGE}/host@0.1.0")];
        let e = vec![format!("{PACKAGE}/stage@0.1.1")];
        assert!(check(&i, &e).unwrap_err().contains("mixes"));
    }
}
