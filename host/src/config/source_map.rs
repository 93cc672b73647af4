//! Turns byte spans of a TOML file into `file:line:column` for messages.

use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};

/// The text of a pipeline file, kept to point into it.
#[derive(Debug, Clone)]
pub struct SourceMap {
    pub path: PathBuf,
    pub text: String,
}

impl SourceMap {
    pub fn new(path: &Path, text: String) -> Self {
        SourceMap {
            path: path.to_path_buf(),
            text,
        }
    }

    /// `file:line:column` (1-based) of a byte offset.
    pub fn locate(&self, offset: usize) -> String {
        let offset = offset.min(self.text.len());
        let before = &self.text[..floor_char_boundary(&self.text, offset)];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        format!("{}:{line}:{column}", self.path.display())
    }

    pub fn locate_span(&self, span: &Range<usize>) -> String {
        self.locate(span.start)
    }

    /// The span of the value at `keys` (table keys, or array indices as
    /// numbers), as deep as the document goes: a path that stops existing
    /// part-way points at the deepest value found.
    pub fn span_of(&self, keys: &[&str]) -> Option<Range<usize>> {
        let root = DeTable::parse(&self.text).ok()?;
        let mut span = root.span();
        let mut current: Option<DeValue<'_>> = Some(DeValue::Table(root.into_inner()));
        for key in keys {
            let Some(value) = current.take() else { break };
            let next = match &value {
                DeValue::Table(table) => table
                    .iter()
                    .find(|(k, _)| k.get_ref().as_ref() == *key)
                    .map(|(_, v)| v.clone()),
                DeValue::Array(items) => key
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| items.get(i).cloned()),
                _ => None,
            };
            match next {
                Some(spanned) => {
                    span = spanned.span();
                    current = Some(spanned.into_inner());
                }
                None => break,
            }
        }
        Some(span)
    }
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_lines_and_columns() {
        let map = SourceMap::new(Path::new("p.toml"), "a = 1\nbb = 2\n".to_string());
        assert_eq!(map.locate(0), "p.toml:1:1");
        assert_eq!(map.locate(6), "p.toml:2:1");
        assert_eq!(map.locate(11), "p.toml:2:6");
    }

    #[test]
    fn finds_nested_spans() {
        let text =
            "[tables.t.options]\ncolumns = [{ name = \"a\" }, { name = \"b\", type = \"x\" }]\n";
        let map = SourceMap::new(Path::new("p.toml"), text.to_string());
        let span = map
            .span_of(&["tables", "t", "options", "columns", "1", "type"])
            .unwrap();
        assert_eq!(&text[span.clone()], "\"x\"");
        assert_eq!(map.locate_span(&span), "p.toml:2:49");
        // A path that runs out points at the deepest existing value.
        let deepest = map.span_of(&["tables", "t", "options"]).unwrap();
        assert_eq!(
            map.span_of(&["tables", "t", "options", "nope"]).unwrap(),
            deepest
        );
    }
}
