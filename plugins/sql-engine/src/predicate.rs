//! One SQL boolean expression on its own, for other plugins that reuse the
//! engine (e.g. `cdc`'s `apply_as_deletes`): planned against a schema, then
//! evaluated over batches of that schema. Same parsing, typing and NULL
//! rules as an expectation's `expr`.

use arrow_array::{Array, ArrayRef, BooleanArray, RecordBatch};
use arrow_schema::{DataType, SchemaRef};

use crate::eval::{Batch, eval};
use crate::planner::Planner;
use crate::typed::Typed;
use crate::{coerce, parse, types};

/// A planned boolean expression.
#[derive(Debug, Clone)]
pub struct Predicate {
    sql: String,
    typed: Typed,
    /// Input columns the expression reads, with the type it reads them as.
    used: Vec<(usize, DataType)>,
    width: usize,
}

/// Parses `expr` and type-checks it against `schema`; it must be BOOLEAN
/// (or a bare NULL). The error is a message without an option path.
pub fn plan_predicate(expr: &str, schema: &SchemaRef) -> Result<Predicate, String> {
    let ast = parse::parse_expr(expr).map_err(|m| format!("cannot parse `{expr}`: {m}"))?;
    let typed = Planner::new(schema).plan(&ast)?;
    let typed = match typed.ty {
        DataType::Boolean => typed,
        DataType::Null => coerce::cast(typed, &DataType::Boolean)?,
        _ => {
            return Err(format!(
                "`{}` is {}, not a condition (BOOLEAN)",
                expr.trim(),
                types::sql_name(&typed.ty)
            ));
        }
    };
    let mut columns = Vec::new();
    typed.columns(&mut columns);
    columns.sort_unstable();
    columns.dedup();
    let used = columns
        .into_iter()
        .filter_map(|i| types::eval_type(schema.field(i).data_type()).map(|t| (i, t)))
        .collect();
    Ok(Predicate {
        sql: expr.trim().to_string(),
        typed,
        used,
        width: schema.fields().len(),
    })
}

impl Predicate {
    /// The SQL as given, trimmed.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// The expression's value on every row of `batch` (which has the
    /// planned schema's columns): TRUE, FALSE or NULL.
    pub fn evaluate(&self, batch: &RecordBatch) -> Result<BooleanArray, String> {
        if batch.num_columns() != self.width {
            return Err(format!(
                "the batch has {} columns, the expression was planned for {}",
                batch.num_columns(),
                self.width
            ));
        }
        self.evaluate_columns(&|i| Some(batch.column(i).clone()), batch.num_rows())
    }

    /// The input columns (of the planned schema) the expression reads.
    pub fn columns(&self) -> impl Iterator<Item = usize> + '_ {
        self.used.iter().map(|(i, _)| *i)
    }

    /// As [`Predicate::evaluate`], over `len` rows whose column `i` of the
    /// planned schema is `column(i)`: only [`Predicate::columns`] are asked.
    pub fn evaluate_columns(
        &self,
        column: &dyn Fn(usize) -> Option<ArrayRef>,
        len: usize,
    ) -> Result<BooleanArray, String> {
        let mut columns: Vec<Option<ArrayRef>> = vec![None; self.width];
        for (i, ty) in &self.used {
            let array = column(*i).ok_or_else(|| format!("column {i} is missing"))?;
            let array =
                types::normalise(&array, ty).map_err(|e| format!("cannot read column {i}: {e}"))?;
            columns[*i] = Some(array);
        }
        let input = Batch {
            columns: &columns,
            len,
            memo: None,
        };
        let value = eval(&self.typed, &input)
            .and_then(|v| v.into_booleans(len))
            .map_err(|e| format!("`{}`: {e}", self.sql))?;
        debug_assert_eq!(value.len(), len);
        Ok(value)
    }

    /// Where the expression is TRUE (NULL and FALSE are not), without nulls.
    pub fn evaluate_true(&self, batch: &RecordBatch) -> Result<BooleanArray, String> {
        true_only(self.evaluate(batch)?)
    }

    /// As [`Predicate::evaluate_true`], over columns given as in
    /// [`Predicate::evaluate_columns`].
    pub fn evaluate_columns_true(
        &self,
        column: &dyn Fn(usize) -> Option<ArrayRef>,
        len: usize,
    ) -> Result<BooleanArray, String> {
        true_only(self.evaluate_columns(column, len)?)
    }
}

fn true_only(value: BooleanArray) -> Result<BooleanArray, String> {
    Ok(if value.null_count() == 0 {
        value
    } else {
        arrow_select::filter::prep_null_mask_filter(&value)
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Int64Array, StringArray};
    use arrow_schema::{Field, Schema};

    use super::*;

    #[test]
    fn plans_and_evaluates_one_condition() {
        let schema: SchemaRef = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("op", DataType::Utf8, true),
        ]));
        let p = plan_predicate("op = 'DELETE'", &schema).unwrap();
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from(vec![1, 2, 3])),
                Arc::new(StringArray::from(vec![
                    Some("DELETE"),
                    None,
                    Some("INSERT"),
                ])),
            ],
        )
        .unwrap();
        let v = p.evaluate(&batch).unwrap();
        assert_eq!(v, BooleanArray::from(vec![Some(true), None, Some(false)]));
        let t = p.evaluate_true(&batch).unwrap();
        assert_eq!(t, BooleanArray::from(vec![true, false, false]));
        assert!(
            plan_predicate("id + 1", &schema)
                .unwrap_err()
                .contains("not a condition")
        );
        assert!(
            plan_predicate("nope = 1", &schema)
                .unwrap_err()
                .contains("unknown column")
        );
        assert!(
            plan_predicate("op =", &schema)
                .unwrap_err()
                .contains("cannot parse")
        );
    }
}
