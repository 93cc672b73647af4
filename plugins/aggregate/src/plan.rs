//! Options checked against the input schemas: which columns of which input
//! each part reads, and the output schema.

use std::sync::Arc;

use arrow_array::ArrayRef;
use arrow_row::{RowConverter, SortField};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use lfhost_plugin_sdk::{Error, parse_options};
use sql_engine::{Predicate, plan_predicate};

use crate::aggs::{default_value, natural_type};
use crate::options::{self, Function, How, Options};

/// What one part (the base or a join) keeps of one input.
#[derive(Debug, Clone)]
pub struct Source {
    pub input: String,
    pub filter: Option<Predicate>,
    /// The input's columns kept, by index in the input.
    pub columns: Vec<usize>,
    /// The kept columns' schema.
    pub schema: SchemaRef,
}

#[derive(Debug, Clone)]
pub struct AggPlan {
    pub name: String,
    pub function: Function,
    /// Index in the join's kept columns.
    pub column: Option<usize>,
    pub output: DataType,
    /// One value of `output`.
    pub default: Option<ArrayRef>,
}

#[derive(Debug, Clone)]
pub enum JoinKind {
    /// Kept columns to copy from the matching row.
    Lookup(Vec<usize>),
    Aggregates(Vec<AggPlan>),
}

#[derive(Debug, Clone)]
pub struct JoinPlan {
    pub source: Source,
    pub how: How,
    /// Key columns: indices in the base's and in this join's kept columns,
    /// and the type both are compared as.
    pub base_keys: Vec<usize>,
    pub join_keys: Vec<usize>,
    pub key_types: Vec<DataType>,
    pub kind: JoinKind,
}

#[derive(Debug, Clone)]
pub struct Plan {
    /// The output (`main`).
    pub schema: SchemaRef,
    pub base: Source,
    /// The base key and output columns, as indices in its kept columns.
    pub key: Vec<usize>,
    pub base_columns: Vec<usize>,
    pub joins: Vec<JoinPlan>,
}

/// Collects the columns one part reads from its input.
struct Projection<'a> {
    input: &'a str,
    schema: &'a SchemaRef,
    columns: Vec<usize>,
}

impl<'a> Projection<'a> {
    fn new(input: &'a str, schema: &'a SchemaRef) -> Self {
        Projection {
            input,
            schema,
            columns: Vec::new(),
        }
    }

    /// The column's index among the kept ones.
    fn column(&mut self, name: &str, path: &str) -> Result<usize, Error> {
        let i = self.schema.index_of(name).map_err(|_| {
            Error::option(
                path,
                format!("input `{}` has no column `{name}`", self.input),
            )
        })?;
        Ok(match self.columns.iter().position(|&c| c == i) {
            Some(p) => p,
            None => {
                self.columns.push(i);
                self.columns.len() - 1
            }
        })
    }

    fn kept_type(&self, kept: usize) -> &DataType {
        self.schema.field(self.columns[kept]).data_type()
    }

    fn finish(self, filter: Option<Predicate>) -> Result<Source, Error> {
        let schema = self
            .schema
            .project(&self.columns)
            .map_err(|e| Error::internal(e.to_string()))?;
        Ok(Source {
            input: self.input.to_string(),
            filter,
            columns: self.columns,
            schema: Arc::new(schema),
        })
    }
}

fn input_schema<'a>(
    inputs: &'a [(String, SchemaRef)],
    name: &str,
    path: &str,
) -> Result<&'a SchemaRef, Error> {
    inputs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, s)| s)
        .ok_or_else(|| {
            let known: Vec<&str> = inputs.iter().map(|(n, _)| n.as_str()).collect();
            Error::option(
                path,
                format!("no input `{name}` (inputs: {})", known.join(", ")),
            )
        })
}

fn filter(
    expr: &Option<String>,
    schema: &SchemaRef,
    path: &str,
) -> Result<Option<Predicate>, Error> {
    expr.as_deref()
        .map(|e| plan_predicate(e, schema).map_err(|m| Error::option(path, m)))
        .transpose()
}

fn row_encodable(ty: &DataType) -> bool {
    RowConverter::supports_fields(&[SortField::new(ty.clone())])
}

/// The type a base and a joined key column are compared as.
fn key_type(a: &DataType, b: &DataType) -> Option<DataType> {
    let string =
        |t: &DataType| matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View);
    if a == b {
        Some(a.clone())
    } else if a.is_integer() && b.is_integer() {
        Some(DataType::Int64)
    } else if string(a) && string(b) {
        Some(DataType::Utf8)
    } else {
        None
    }
}

impl Plan {
    pub fn new(options: &str, inputs: &[(String, SchemaRef)]) -> Result<Plan, Error> {
        let options: Options = parse_options(options)?;
        let mut fields: Vec<Field> = Vec::new();
        let mut names: Vec<String> = Vec::new();
        let mut add_field = |name: &str, ty: &DataType, path: &str| -> Result<(), Error> {
            if names.iter().any(|n| n == name) {
                return Err(Error::option(
                    path,
                    format!("the output already has a column `{name}`"),
                ));
            }
            names.push(name.to_string());
            // Every output column is nullable: lookups and aggregates may
            // have no match, and a plain nullable schema is what the table gets.
            fields.push(Field::new(name, ty.clone(), true));
            Ok(())
        };

        let base = &options.base;
        let schema = input_schema(inputs, &base.input, "base.input")?;
        let mut projection = Projection::new(&base.input, schema);
        if base.key.is_empty() {
            return Err(Error::option("base.key", "needs at least one column"));
        }
        let mut key = Vec::new();
        for (i, name) in base.key.iter().enumerate() {
            let path = format!("base.key.{i}");
            let k = projection.column(name, &path)?;
            if !row_encodable(projection.kept_type(k)) {
                return Err(Error::option(path, format!("`{name}` cannot be a key")));
            }
            key.push(k);
        }
        let mut base_columns = Vec::new();
        for (i, name) in base.columns.iter().enumerate() {
            let path = format!("base.columns.{i}");
            let c = projection.column(name, &path)?;
            add_field(name, projection.kept_type(c), &path)?;
            base_columns.push(c);
        }
        let base_filter = filter(&base.filter, schema, "base.filter")?;

        let mut joins = Vec::new();
        for (j, join) in options.joins.iter().enumerate() {
            let at = |p: &str| format!("joins.{j}.{p}");
            let jschema = input_schema(inputs, &join.input, &at("input"))?;
            let mut jprojection = Projection::new(&join.input, jschema);
            if join.on.is_empty() {
                return Err(Error::option(at("on"), "needs at least one column pair"));
            }
            let (mut base_keys, mut join_keys, mut key_types) =
                (Vec::new(), Vec::new(), Vec::new());
            for (b, c) in &join.on {
                let path = at(&format!("on.{b}"));
                let bk = projection.column(b, &path)?;
                let jk = jprojection.column(c, &path)?;
                let (bt, jt) = (projection.kept_type(bk), jprojection.kept_type(jk));
                let ty = key_type(bt, jt).filter(row_encodable).ok_or_else(|| {
                    Error::option(
                        &path,
                        format!("cannot compare `{b}` ({bt}) with `{c}` ({jt})"),
                    )
                })?;
                base_keys.push(bk);
                join_keys.push(jk);
                key_types.push(ty);
            }
            let kind = match (&join.columns, &join.aggregates) {
                (Some(columns), None) => {
                    let mut kept = Vec::new();
                    for (i, name) in columns.iter().enumerate() {
                        let path = at(&format!("columns.{i}"));
                        let c = jprojection.column(name, &path)?;
                        add_field(name, jprojection.kept_type(c), &path)?;
                        kept.push(c);
                    }
                    JoinKind::Lookup(kept)
                }
                (None, Some(aggregates)) => {
                    let mut planned = Vec::new();
                    for (i, agg) in aggregates.iter().enumerate() {
                        let at = |p: &str| at(&format!("aggregates.{i}.{p}"));
                        if agg.name.is_empty() {
                            return Err(Error::option(at("name"), "must not be empty"));
                        }
                        let column = match &agg.column {
                            Some(name) => Some(jprojection.column(name, &at("column"))?),
                            None if agg.function == Function::Count => None,
                            None => {
                                return Err(Error::option(
                                    at("column"),
                                    format!("`{}` needs a column", agg.function.name()),
                                ));
                            }
                        };
                        let input_type = column.map(|c| jprojection.kept_type(c).clone());
                        let natural = natural_type(agg.function, input_type.as_ref())
                            .map_err(|m| Error::option(at("column"), m))?;
                        let output = match &agg.ty {
                            None => natural.clone(),
                            Some(text) => {
                                let t = options::parse_type(text)
                                    .map_err(|m| Error::option(at("type"), m))?;
                                if !arrow_cast::can_cast_types(&natural, &t) {
                                    return Err(Error::option(
                                        at("type"),
                                        format!("cannot cast {natural} to {t}"),
                                    ));
                                }
                                t
                            }
                        };
                        // A count without a match is 0 unless told otherwise.
                        let zero = serde_json::Value::from(0);
                        let default = match (&agg.default, agg.function) {
                            (Some(v), _) => Some(v),
                            (None, Function::Count | Function::CountDistinct) => Some(&zero),
                            (None, _) => None,
                        };
                        let default = match default {
                            None => None,
                            Some(v) => default_value(v, &output)
                                .map_err(|m| Error::option(at("default"), m))?,
                        };
                        add_field(&agg.name, &output, &at("name"))?;
                        planned.push(AggPlan {
                            name: agg.name.clone(),
                            function: agg.function,
                            column,
                            output,
                            default,
                        });
                    }
                    JoinKind::Aggregates(planned)
                }
                _ => {
                    return Err(Error::option(
                        at("columns"),
                        "a join has either `columns` (a lookup) or `aggregates`, not both nor neither",
                    ));
                }
            };
            let jfilter = filter(&join.filter, jschema, &at("filter"))?;
            joins.push(JoinPlan {
                source: jprojection.finish(jfilter)?,
                how: join.how,
                base_keys,
                join_keys,
                key_types,
                kind,
            });
        }
        if fields.is_empty() {
            return Err(Error::option("base.columns", "the output has no column"));
        }
        Ok(Plan {
            schema: Arc::new(Schema::new(fields)),
            base: projection.finish(base_filter)?,
            key,
            base_columns,
            joins,
        })
    }
}
