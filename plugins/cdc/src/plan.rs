//! Options checked against the input schema: which columns are keys, the
//! sequence, the output and the tracked ones, and the output schema.

use std::sync::Arc;

use arrow_array::new_empty_array;
use arrow_ord::ord::make_comparator;
use arrow_schema::{DataType, Field, Schema, SchemaRef, SortOptions};
use lfhost_plugin_sdk::Error;
use sql_engine::{Predicate, plan_predicate};

use crate::options::{DEFAULT_SOURCE_FILE, Options};

/// SCD2: when a version took effect (the sequence of the change that opened it).
pub const START_AT: &str = "__START_AT";
/// SCD2: when a version stopped (the sequence of the change that closed
/// it); NULL while it is current.
pub const END_AT: &str = "__END_AT";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScdType {
    One,
    Two,
}

/// What a flow does, decided before any data moves.
#[derive(Debug, Clone)]
pub struct Plan {
    pub input: SchemaRef,
    pub output: SchemaRef,
    pub scd: ScdType,
    /// The input columns kept from every pushed row, ascending.
    pub stored: Vec<usize>,
    /// Positions in `stored` of the keys, in the order given.
    pub keys: Vec<usize>,
    /// Position in `stored` of the sequence column.
    pub sequence: usize,
    /// Positions in `stored` of the output columns (before SCD2's two), in
    /// output order.
    pub outputs: Vec<usize>,
    /// SCD2: positions in `outputs` of the columns whose changes open a version.
    pub tracked: Vec<usize>,
    /// Input index of the column naming each change's file.
    pub source_file: Option<usize>,
    pub deletes: Option<Predicate>,
    pub ignore_null_updates: bool,
}

impl Plan {
    /// Checks `options` (JSON text) against the input's schema.
    pub fn new(options: &str, input: SchemaRef) -> Result<Plan, Error> {
        let options = Options::parse(options)?;
        let scd = match options.stored_as_scd_type {
            1 => ScdType::One,
            2 => ScdType::Two,
            n => {
                return Err(Error::option(
                    "stored_as_scd_type",
                    format!("is {n}; give 1 or 2"),
                ));
            }
        };
        let keys = resolve_keys(&options, &input)?;
        let sequence = find(&input, &options.sequence_by, "sequence_by")?;
        if keys.contains(&sequence) {
            return Err(Error::option(
                "sequence_by",
                "the sequence column cannot be a key",
            ));
        }
        comparable(&input, sequence, "sequence_by")?;
        let selected = select_columns(&options, &input, &keys, sequence, scd)?;
        let tracked = resolve_tracked(&options, &input, &selected, &keys, scd)?;
        let deletes = match &options.apply_as_deletes {
            Some(sql) => Some(
                plan_predicate(sql, &input).map_err(|m| Error::option("apply_as_deletes", m))?,
            ),
            None => None,
        };
        let source_file = resolve_source_file(&options, &input)?;

        let mut stored: Vec<usize> = selected.iter().chain(&keys).copied().collect();
        stored.push(sequence);
        stored.sort_unstable();
        stored.dedup();
        let at = |i: usize| stored.binary_search(&i).unwrap_or_default();
        let output = output_schema(&input, &selected, sequence, scd);
        Ok(Plan {
            keys: keys.iter().map(|&k| at(k)).collect(),
            sequence: at(sequence),
            outputs: selected.iter().map(|&c| at(c)).collect(),
            tracked,
            source_file,
            deletes,
            ignore_null_updates: options.ignore_null_updates,
            scd,
            output,
            input,
            stored,
        })
    }

    /// The input columns the merge itself reads when the host keeps the
    /// pushed rows and builds the table from their positions (`emit-taken`):
    /// keys, sequence, source file, what `apply_as_deletes` reads and (type
    /// 2) the tracked columns, ascending. `None` with `ignore_null_updates`,
    /// where a table row's columns come from different changes.
    pub fn taken_columns(&self) -> Option<Vec<usize>> {
        if self.ignore_null_updates {
            return None;
        }
        let stored = |position: usize| self.stored.get(position).copied();
        let mut columns: Vec<usize> = self.keys.iter().filter_map(|&k| stored(k)).collect();
        columns.extend(stored(self.sequence));
        columns.extend(self.source_file);
        if let Some(deletes) = &self.deletes {
            columns.extend(deletes.columns());
        }
        for &j in &self.tracked {
            columns.extend(self.outputs.get(j).and_then(|&s| stored(s)));
        }
        columns.sort_unstable();
        columns.dedup();
        Some(columns)
    }

    /// The names of the input columns the table takes, in output order
    /// (before type 2's `__START_AT` and `__END_AT`).
    pub fn output_input_columns(&self) -> Vec<String> {
        self.outputs
            .iter()
            .filter_map(|&s| self.stored.get(s))
            .filter_map(|&i| self.input.fields().get(i))
            .map(|f| f.name().clone())
            .collect()
    }

    /// `[("main", schema)]`.
    pub fn outputs(&self) -> Vec<(String, SchemaRef)> {
        vec![(
            lfhost_plugin_sdk::MAIN_OUTPUT.to_string(),
            self.output.clone(),
        )]
    }
}

fn output_schema(input: &Schema, selected: &[usize], sequence: usize, scd: ScdType) -> SchemaRef {
    let mut fields: Vec<Arc<Field>> = selected
        .iter()
        .map(|&i| input.fields()[i].clone())
        .collect();
    if scd == ScdType::Two {
        let ty = input.field(sequence).data_type().clone();
        fields.push(Arc::new(Field::new(START_AT, ty.clone(), true)));
        fields.push(Arc::new(Field::new(END_AT, ty, true)));
    }
    Arc::new(Schema::new(fields))
}

fn resolve_keys(options: &Options, input: &Schema) -> Result<Vec<usize>, Error> {
    if options.keys.is_empty() {
        return Err(Error::option("keys", "give at least one key column"));
    }
    let mut keys = Vec::new();
    for (i, name) in options.keys.iter().enumerate() {
        let path = format!("keys.{i}");
        let index = find(input, name, &path)?;
        if keys.contains(&index) {
            return Err(Error::option(path, format!("`{name}` is given twice")));
        }
        comparable(input, index, &path)?;
        keys.push(index);
    }
    Ok(keys)
}

/// The input columns the target has, in input order.
fn select_columns(
    options: &Options,
    input: &Schema,
    keys: &[usize],
    sequence: usize,
    scd: ScdType,
) -> Result<Vec<usize>, Error> {
    let mut keep = vec![true; input.fields().len()];
    match (&options.column_list, &options.except_column_list) {
        (Some(_), Some(_)) => {
            return Err(Error::option(
                "column_list",
                "give column_list or except_column_list, not both",
            ));
        }
        (Some(list), None) => {
            keep.fill(false);
            for (i, name) in list.iter().enumerate() {
                let path = format!("column_list.{i}");
                let index = find(input, name, &path)?;
                if keep[index] {
                    return Err(Error::option(path, format!("`{name}` is given twice")));
                }
                if scd == ScdType::Two && index == sequence {
                    return Err(Error::option(
                        path,
                        format!(
                            "`{name}` is the sequence column, which a type 2 table holds as \
                             {START_AT} and {END_AT}"
                        ),
                    ));
                }
                keep[index] = true;
            }
            if let Some(&key) = keys.iter().find(|&&k| !keep[k]) {
                return Err(Error::option(
                    "column_list",
                    format!(
                        "the key `{}` must be one of the columns",
                        input.field(key).name()
                    ),
                ));
            }
        }
        (None, Some(list)) => {
            for (i, name) in list.iter().enumerate() {
                let path = format!("except_column_list.{i}");
                let index = find(input, name, &path)?;
                if keys.contains(&index) {
                    return Err(Error::option(path, format!("`{name}` is a key; keys stay")));
                }
                keep[index] = false;
            }
        }
        (None, None) => {}
    }
    if scd == ScdType::Two {
        keep[sequence] = false;
    }
    let selected: Vec<usize> = (0..keep.len()).filter(|&i| keep[i]).collect();
    if scd == ScdType::Two
        && let Some(&clash) = selected
            .iter()
            .find(|&&i| [START_AT, END_AT].contains(&input.field(i).name().as_str()))
    {
        return Err(Error::option(
            "stored_as_scd_type",
            format!(
                "a type 2 table adds `{}`, which the input already has: leave it out with \
                 except_column_list",
                input.field(clash).name()
            ),
        ));
    }
    Ok(selected)
}

/// SCD2: positions in `selected` of the tracked columns.
fn resolve_tracked(
    options: &Options,
    input: &Schema,
    selected: &[usize],
    keys: &[usize],
    scd: ScdType,
) -> Result<Vec<usize>, Error> {
    let lists = [
        (
            "track_history_column_list",
            &options.track_history_column_list,
        ),
        (
            "track_history_except_column_list",
            &options.track_history_except_column_list,
        ),
    ];
    if scd == ScdType::One {
        if let Some((path, _)) = lists.iter().find(|(_, l)| l.is_some()) {
            return Err(Error::option(*path, "only a type 2 table tracks history"));
        }
        return Ok(Vec::new());
    }
    let mut tracked: Vec<bool> = selected.iter().map(|c| !keys.contains(c)).collect();
    match lists {
        [(_, Some(_)), (path, Some(_))] => {
            return Err(Error::option(
                path,
                "give track_history_column_list or track_history_except_column_list, not both",
            ));
        }
        [(path, Some(list)), _] | [_, (path, Some(list))] => {
            let only = path == "track_history_column_list";
            if only {
                tracked.fill(false);
            }
            for (i, name) in list.iter().enumerate() {
                let path = format!("{path}.{i}");
                let index = find(input, name, &path)?;
                let Some(at) = selected.iter().position(|&c| c == index) else {
                    return Err(Error::option(
                        path,
                        format!("`{name}` is not a column of the table"),
                    ));
                };
                tracked[at] = only;
            }
        }
        _ => {}
    }
    let tracked: Vec<usize> = (0..tracked.len()).filter(|&i| tracked[i]).collect();
    for &at in &tracked {
        comparable(input, selected[at], "track_history_column_list")?;
    }
    Ok(tracked)
}

fn resolve_source_file(options: &Options, input: &Schema) -> Result<Option<usize>, Error> {
    let Some(name) = &options.source_file_column else {
        return Ok(None);
    };
    let path = "source_file_column";
    let index = input.index_of(name).map_err(|_| {
        let hint = if name == DEFAULT_SOURCE_FILE {
            "; set source_file_column to null to order equal sequences by row position only"
        } else {
            ""
        };
        Error::option(path, format!("{}{hint}", unknown(input, name)))
    })?;
    match input.field(index).data_type() {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Ok(Some(index)),
        other => Err(Error::option(
            path,
            format!("`{name}` is {other}, not a string"),
        )),
    }
}

fn find(input: &Schema, name: &str, path: &str) -> Result<usize, Error> {
    input
        .index_of(name)
        .map_err(|_| Error::option(path, unknown(input, name)))
}

fn unknown(input: &Schema, name: &str) -> String {
    let names: Vec<&str> = input.fields().iter().map(|f| f.name().as_str()).collect();
    format!(
        "unknown column `{name}`; the input has {}",
        names.join(", ")
    )
}

/// Keys, the sequence and tracked columns are compared; some types cannot be.
fn comparable(input: &Schema, index: usize, path: &str) -> Result<(), Error> {
    let field = input.field(index);
    let empty = new_empty_array(field.data_type());
    make_comparator(&empty, &empty, SortOptions::default())
        .map(|_| ())
        .map_err(|_| {
            Error::option(
                path,
                format!(
                    "`{}` has type {}, which cannot be compared",
                    field.name(),
                    field.data_type()
                ),
            )
        })
}
