//! Checking a pipeline against its plugins before any data moves: every
//! table's options and schemas, as `lfhost validate` reports them.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_schema::SchemaRef;

use crate::config::{ConfigError, ConfigProblem, Pipeline, TableSpec};
use crate::dag::Dag;
use crate::sandbox::{Plugin, PluginError, Sandbox, StageKind};

/// A table with its plugin and the schemas the plugin agreed to.
pub struct PlannedTable {
    pub spec: TableSpec,
    pub plugin: Arc<Plugin>,
    pub inputs: Vec<(String, SchemaRef)>,
    pub outputs: Vec<(String, SchemaRef)>,
}

impl PlannedTable {
    pub fn main_schema(&self) -> Option<&SchemaRef> {
        self.outputs.first().map(|(_, s)| s)
    }
}

pub struct Plan {
    pub pipeline: Pipeline,
    pub dag: Dag,
    pub tables: BTreeMap<String, PlannedTable>,
}

/// Loads every plugin and asks it to plan its tables, in dependency order.
pub fn plan(pipeline: Pipeline, sandbox: &Sandbox) -> Result<Plan, ConfigError> {
    let dag = Dag::new(&pipeline.tables).map_err(|cycle| {
        ConfigError::single(
            pipeline.source.path.display().to_string(),
            None,
            format!("cycle: {}", cycle.join(" -> ")),
        )
    })?;
    let mut problems = Vec::new();
    let used: Vec<(&String, &crate::config::PluginRef)> = pipeline
        .plugins
        .iter()
        .filter(|(name, _)| pipeline.tables.values().any(|t| &t.plugin == *name))
        .collect();
    // Loading (reading, checking, deserializing or compiling) each plugin
    // takes tens of milliseconds even when cached: all at once, so that a
    // run with nothing new starts quickly.
    let runtime = tokio::runtime::Handle::try_current().ok();
    let loaded: Vec<Result<Plugin, PluginError>> = std::thread::scope(|scope| {
        let loads: Vec<_> = used
            .iter()
            .map(|(_, plugin)| {
                let runtime = runtime.clone();
                scope.spawn(move || {
                    let _entered = runtime.as_ref().map(|r| r.enter());
                    sandbox.load(&plugin.path, plugin.sha256.as_deref())
                })
            })
            .collect();
        loads
            .into_iter()
            .map(|load| {
                load.join().unwrap_or_else(|_| {
                    Err(PluginError::Internal(
                        "loading the plugin crashed".to_string(),
                    ))
                })
            })
            .collect()
    });
    let mut plugins: BTreeMap<String, Arc<Plugin>> = BTreeMap::new();
    for ((name, plugin), result) in used.into_iter().zip(loaded) {
        match result {
            Ok(loaded) => {
                plugins.insert(name.clone(), Arc::new(loaded));
            }
            Err(e) => problems.push(ConfigProblem {
                location: pipeline.locate(&plugin.span),
                table: None,
                message: format!("plugin `{name}`: {e}"),
            }),
        }
    }
    let mut tables: BTreeMap<String, PlannedTable> = BTreeMap::new();
    for name in dag.order() {
        let Some(spec) = pipeline.tables.get(name) else {
            continue;
        };
        let Some(plugin) = plugins.get(&spec.plugin) else {
            continue;
        };
        let problem = |message: String, span: &std::ops::Range<usize>| ConfigProblem {
            location: pipeline.locate(span),
            table: Some(name.clone()),
            message,
        };
        let kind = plugin.descriptor().map(|d| d.kind);
        let ingests = matches!(kind, Some(StageKind::Ingest));
        if spec.source.is_some() != ingests {
            let what = if ingests {
                "ingests landing files: give the table a `source`"
            } else {
                "reads tables: give the table `inputs`"
            };
            problems.push(problem(
                format!("plugin `{}` {what}", spec.plugin),
                &spec.span,
            ));
            continue;
        }
        let mut inputs = Vec::new();
        let mut inputs_known = true;
        for input in &spec.inputs {
            let external = pipeline
                .externals
                .get(input)
                .and_then(|e| e.schema.as_ref());
            match tables.get(input).and_then(|t| t.main_schema()).or(external) {
                Some(schema) => inputs.push((input.clone(), schema.clone())),
                None => inputs_known = false,
            }
        }
        if !inputs_known {
            continue; // an upstream problem is already reported
        }
        match plugin.plan(&spec.options_json, &inputs, name) {
            Ok(outputs)
                if spec.quarantine.is_some() && !outputs.iter().any(|(n, _)| n == "quarantine") =>
            {
                problems.push(problem(
                    format!("plugin `{}` has no `quarantine` output, so the table cannot have a quarantine table", spec.plugin),
                    &spec.span,
                ));
            }
            Ok(outputs) => {
                tables.insert(
                    name.clone(),
                    PlannedTable {
                        spec: spec.clone(),
                        plugin: plugin.clone(),
                        inputs,
                        outputs,
                    },
                );
            }
            Err(PluginError::InvalidOption { option, message }) => {
                let mut keys = vec!["tables", name.as_str(), "options"];
                keys.extend(option.split('.').filter(|k| !k.is_empty()));
                let span = pipeline
                    .source
                    .span_of(&keys)
                    .unwrap_or_else(|| spec.span.clone());
                let shown = if option.is_empty() {
                    "options".to_string()
                } else {
                    format!("options.{option}")
                };
                problems.push(problem(format!("{shown}: {message}"), &span));
            }
            Err(e) => problems.push(problem(
                format!("plugin `{}` rejected the table: {e}", spec.plugin),
                &spec.span,
            )),
        }
    }
    if problems.is_empty() {
        Ok(Plan {
            pipeline,
            dag,
            tables,
        })
    } else {
        Err(ConfigError { problems })
    }
}
