//! `${name}` variables: declared in `[vars]`, overridable with `--var`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A variable's value and the folder its relative paths are taken from: the
/// pipeline file's for values written there, the working directory's for
/// values given on the command line.
#[derive(Debug, Clone)]
struct Value {
    text: String,
    base: PathBuf,
}

#[derive(Debug)]
pub struct Vars {
    values: BTreeMap<String, Value>,
    file_dir: PathBuf,
    cwd: PathBuf,
    undeclared_overrides: BTreeSet<String>,
}

impl Vars {
    pub fn new(file_dir: &Path, cwd: &Path) -> Self {
        Vars {
            values: BTreeMap::new(),
            file_dir: file_dir.to_path_buf(),
            cwd: cwd.to_path_buf(),
            undeclared_overrides: BTreeSet::new(),
        }
    }

    pub fn declare(&mut self, name: &str, text: &str) {
        self.values.insert(
            name.to_string(),
            Value {
                text: text.to_string(),
                base: self.file_dir.clone(),
            },
        );
    }

    /// `--var name=value`. Only declared variables can be set, so that a
    /// typo is an error instead of a silently ignored setting: unknown names
    /// are kept for [`Vars::undeclared_overrides`] to report.
    pub fn set_from_command_line(&mut self, name: &str, text: &str) {
        match self.values.get_mut(name) {
            Some(value) => {
                *value = Value {
                    text: text.to_string(),
                    base: self.cwd.clone(),
                };
            }
            None => {
                self.undeclared_overrides.insert(name.to_string());
            }
        }
    }

    /// Errors for `--var` names the file does not declare.
    pub fn undeclared_overrides(&self) -> Vec<String> {
        let declared: Vec<&str> = self.values.keys().map(String::as_str).collect();
        self.undeclared_overrides
            .iter()
            .map(|name| {
                format!(
                    "unknown variable `{name}` (declared in [vars]: {})",
                    declared.join(", ")
                )
            })
            .collect()
    }

    /// Expands `${name}` references. Returns the text and the folder that a
    /// relative result is relative to: the origin of a leading variable, else
    /// the pipeline file's folder.
    pub fn expand(&self, text: &str) -> Result<(String, PathBuf), String> {
        let mut out = String::new();
        let mut base = self.file_dir.clone();
        let mut rest = text;
        let mut first = true;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| format!("unclosed `${{` in `{text}`"))?;
            let name = &after[..end];
            let value = self.values.get(name).ok_or_else(|| {
                let declared: Vec<&str> = self.values.keys().map(String::as_str).collect();
                format!(
                    "undefined variable `{name}` (declared in [vars]: {})",
                    declared.join(", ")
                )
            })?;
            if first && start == 0 {
                base = value.base.clone();
            }
            out.push_str(&value.text);
            rest = &after[end + 1..];
            first = false;
        }
        out.push_str(rest);
        Ok((out, base))
    }
}
