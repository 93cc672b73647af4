//! The options a table gives the stage (JSON from its TOML `options`),
//! named as in Lakeflow's `create_auto_cdc_flow`.

use lfhost_plugin_sdk::{Error, parse_options};
use serde::Deserialize;

/// The column that names each change's landing file, unless told otherwise.
pub const DEFAULT_SOURCE_FILE: &str = "_source_file";

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// The columns that identify a row of the target.
    pub keys: Vec<String>,
    /// The column that orders changes.
    pub sequence_by: String,
    /// A SQL condition: the change is a delete where it is TRUE.
    #[serde(default)]
    pub apply_as_deletes: Option<String>,
    /// Input columns left out of the target.
    #[serde(default)]
    pub except_column_list: Option<Vec<String>>,
    /// The only input columns the target has.
    #[serde(default)]
    pub column_list: Option<Vec<String>>,
    /// 1 or 2.
    #[serde(default = "scd_type_one")]
    pub stored_as_scd_type: u8,
    /// SCD2: the columns whose changes open a new version.
    #[serde(default)]
    pub track_history_column_list: Option<Vec<String>>,
    /// SCD2: the columns whose changes do not open a new version.
    #[serde(default)]
    pub track_history_except_column_list: Option<Vec<String>>,
    /// A NULL in a change keeps the value the key had.
    #[serde(default)]
    pub ignore_null_updates: bool,
    /// Breaks ties of equal sequences (the later path wins); `null` for none.
    #[serde(default = "default_source_file")]
    pub source_file_column: Option<String>,
}

fn scd_type_one() -> u8 {
    1
}

fn default_source_file() -> Option<String> {
    Some(DEFAULT_SOURCE_FILE.to_string())
}

impl Options {
    /// Parses the JSON text; a wrong or unknown option names its path.
    pub fn parse(text: &str) -> Result<Options, Error> {
        Ok(parse_options(text)?)
    }
}
