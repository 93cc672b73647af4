//! `lfhost plugin new`: a plugin project that builds, tests and runs as is.

use std::path::{Path, PathBuf};

const CARGO_TOML: &str = include_str!("../../templates/plugin/Cargo.toml.in");
const LIB_RS: &str = include_str!("../../templates/plugin/lib.rs.in");
const README: &str = include_str!("../../templates/plugin/README.md.in");
const GITIGNORE: &str = include_str!("../../templates/plugin/gitignore.in");

/// Where the SDK was when this lfhost was built; a scaffold outside this
/// source tree passes `--sdk` instead.
pub const BUILT_SDK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../plugins/sdk");

#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    #[error(
        "`{0}` is not a usable plugin name: use lowercase letters, digits and hyphens, starting with a letter (e.g. `mask-emails`)"
    )]
    Name(String),
    #[error("{0} already exists and is not empty: choose another name or --path")]
    Exists(String),
    #[error(
        "no lfhost plugin SDK at {0}: pass --sdk with the plugins/sdk folder of an lfhost checkout"
    )]
    NoSdk(String),
    #[error("writing {path}: {reason}")]
    Write { path: String, reason: String },
}

/// What was created.
#[derive(Debug)]
pub struct Scaffold {
    pub dir: PathBuf,
    pub crate_name: String,
    pub files: Vec<&'static str>,
}

/// Creates the project `name` in `dir`, depending on the SDK at `sdk`.
pub fn create(name: &str, dir: &Path, sdk: &Path) -> Result<Scaffold, ScaffoldError> {
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-');
    if !valid {
        return Err(ScaffoldError::Name(name.to_string()));
    }
    let sdk = std::fs::canonicalize(sdk)
        .ok()
        .filter(|p| p.join("Cargo.toml").is_file())
        .ok_or_else(|| ScaffoldError::NoSdk(sdk.display().to_string()))?;
    let occupied = std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some());
    if occupied || dir.is_file() {
        return Err(ScaffoldError::Exists(dir.display().to_string()));
    }
    let crate_name = name.replace('-', "_");
    // TOML basic strings take forward slashes on every platform.
    let sdk_text = sdk.display().to_string().replace('\\', "/");
    let render = |template: &str| {
        template
            .replace("{{name}}", name)
            .replace("{{crate}}", &crate_name)
            .replace("{{sdk}}", &sdk_text)
    };
    let files: [(&'static str, String); 4] = [
        ("Cargo.toml", render(CARGO_TOML)),
        ("src/lib.rs", render(LIB_RS)),
        ("README.md", render(README)),
        (".gitignore", GITIGNORE.to_string()),
    ];
    // Written beside the target, then renamed: a failure leaves nothing behind.
    let staging = dir.with_file_name(format!(
        ".{}.lfhost-new-{}",
        dir.file_name()
            .map_or_else(|| name.into(), |n| n.to_string_lossy()),
        std::process::id()
    ));
    let write_error = |path: &Path, e: std::io::Error| ScaffoldError::Write {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    let result = (|| {
        for (relative, text) in &files {
            let path = staging.join(relative);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| write_error(parent, e))?;
            }
            std::fs::write(&path, text).map_err(|e| write_error(&path, e))?;
        }
        if dir.exists() {
            std::fs::remove_dir(dir).map_err(|e| write_error(dir, e))?;
        }
        std::fs::rename(&staging, dir).map_err(|e| write_error(dir, e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    result?;
    Ok(Scaffold {
        dir: dir.to_path_buf(),
        crate_name,
        files: files.iter().map(|(relative, _)| *relative).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(label: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("lfhost-scaffold-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn renders_every_file_with_the_names() {
        let root = temp("ok");
        let made = create(
            "mask-emails",
            &root.join("mask-emails"),
            Path::new(BUILT_SDK),
        )
        .unwrap();
        assert_eq!(made.crate_name, "mask_emails");
        let cargo = std::fs::read_to_string(root.join("mask-emails/Cargo.toml")).unwrap();
        assert!(cargo.contains("name = \"mask-emails\""), "{cargo}");
        assert!(!cargo.contains("{{"), "{cargo}");
        let lib = std::fs::read_to_string(root.join("mask-emails/src/lib.rs")).unwrap();
        assert!(lib.contains("Descriptor::new(\"mask-emails\""));
        let readme = std::fs::read_to_string(root.join("mask-emails/README.md")).unwrap();
        assert!(readme.contains("release/mask_emails.wasm"));
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn refuses_bad_names_occupied_folders_and_a_missing_sdk() {
        let root = temp("bad");
        for name in ["Upper", "9lives", "a_b", "", "trailing-"] {
            assert!(
                matches!(
                    create(name, &root.join("x"), Path::new(BUILT_SDK)),
                    Err(ScaffoldError::Name(_))
                ),
                "{name}"
            );
        }
        std::fs::create_dir_all(root.join("taken")).unwrap();
        std::fs::write(root.join("taken/keep.txt"), "mine").unwrap();
        let err = create("taken", &root.join("taken"), Path::new(BUILT_SDK)).unwrap_err();
        assert!(matches!(err, ScaffoldError::Exists(_)));
        assert_eq!(
            std::fs::read_to_string(root.join("taken/keep.txt")).unwrap(),
            "mine"
        );
        let err = create("fine", &root.join("fine"), &root.join("no-sdk")).unwrap_err();
        assert!(err.to_string().contains("pass --sdk"), "{err}");
        assert!(!root.join("fine").exists());
        std::fs::remove_dir_all(&root).unwrap();
    }
}
