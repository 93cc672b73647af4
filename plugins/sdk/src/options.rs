//! Typed options: the host hands a plugin its TOML `options` table as JSON.

use serde::de::DeserializeOwned;

/// An options document that does not fit the plugin's options type.
#[derive(Debug, Clone, PartialEq)]
pub struct OptionsError {
    /// Dotted path of the offending option, e.g. `columns.2.type`; empty for
    /// the document as a whole.
    pub path: String,
    pub message: String,
}

/// Parses `options` (JSON object text) into `T`.
///
/// `T` should use `#[serde(deny_unknown_fields)]` so that a misspelt option
/// is an error rather than silently ignored.
pub fn parse_options<T: DeserializeOwned>(options: &str) -> Result<T, OptionsError> {
    let mut deserializer = serde_json::Deserializer::from_str(options);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = dotted(&e.path().to_string());
        let message = strip_position(&e.inner().to_string());
        OptionsError { path, message }
    })
}

// serde_path_to_error writes `columns[2].type`; the host and users address
// options as `columns.2.type`, like TOML keys.
fn dotted(path: &str) -> String {
    if path == "." {
        return String::new();
    }
    path.replace('[', ".").replace(']', "")
}

fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Column {
        name: String,
        r#type: String,
    }

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Opts {
        format: String,
        #[serde(default)]
        columns: Vec<Column>,
    }

    #[test]
    fn unknown_field_names_the_field() {
        let err = parse_options::<Opts>(r#"{"format":"csv","formt":1}"#).unwrap_err();
        assert_eq!(err.path, "formt");
        assert!(
            err.message.starts_with("unknown field `formt`"),
            "{}",
            err.message
        );
    }

    #[test]
    fn nested_error_has_a_dotted_path() {
        let err = parse_options::<Opts>(
            r#"{"format":"csv","columns":[{"name":"a","type":"x"},{"name":"b","type":3}]}"#,
        )
        .unwrap_err();
        assert_eq!(err.path, "columns.1.type");
    }

    #[test]
    fn missing_field_is_reported() {
        let err = parse_options::<Opts>("{}").unwrap_err();
        assert!(
            err.message.contains("missing field `format`"),
            "{}",
            err.message
        );
    }
}
