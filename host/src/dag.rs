//! The tables as a graph: dependency order, cycles, and drawings of it.

use std::collections::{BTreeMap, BTreeSet};

use crate::config::TableSpec;

#[derive(Debug, Clone)]
pub struct Dag {
    /// Tables in an order where every table follows its inputs; ties by name.
    order: Vec<String>,
    upstream: BTreeMap<String, Vec<String>>,
    downstream: BTreeMap<String, Vec<String>>,
}

impl Dag {
    /// Builds the graph; a cycle is returned as the tables along it, the
    /// first repeated at the end.
    pub fn new(tables: &BTreeMap<String, TableSpec>) -> Result<Dag, Vec<String>> {
        let mut upstream: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut downstream: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (name, table) in tables {
            let inputs: Vec<String> = table
                .inputs
                .iter()
                .filter(|i| tables.contains_key(*i))
                .cloned()
                .collect();
            for input in &inputs {
                downstream
                    .entry(input.clone())
                    .or_default()
                    .push(name.clone());
            }
            upstream.insert(name.clone(), inputs);
            downstream.entry(name.clone()).or_default();
        }
        let mut waiting: BTreeMap<&str, usize> = upstream
            .iter()
            .map(|(name, inputs)| (name.as_str(), inputs.len()))
            .collect();
        let mut ready: BTreeSet<&str> = waiting
            .iter()
            .filter(|(_, n)| **n == 0)
            .map(|(name, _)| *name)
            .collect();
        let mut order = Vec::new();
        while let Some(name) = ready.pop_first() {
            order.push(name.to_string());
            waiting.remove(name);
            for next in downstream.get(name).map(Vec::as_slice).unwrap_or_default() {
                if let Some(count) = waiting.get_mut(next.as_str()) {
                    *count -= 1;
                    if *count == 0 {
                        ready.insert(next.as_str());
                    }
                }
            }
        }
        if order.len() < upstream.len() {
            let stuck: BTreeSet<&str> = waiting.keys().copied().collect();
            return Err(find_cycle(&upstream, &stuck));
        }
        Ok(Dag {
            order,
            upstream,
            downstream,
        })
    }

    pub fn order(&self) -> &[String] {
        &self.order
    }

    pub fn upstream(&self, table: &str) -> &[String] {
        self.upstream
            .get(table)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// `table` and every table that reads it, directly or not.
    pub fn with_descendants(&self, table: &str) -> BTreeSet<String> {
        reachable(table, &self.downstream)
    }

    /// `table` and every table it reads, directly or not.
    pub fn with_ancestors(&self, table: &str) -> BTreeSet<String> {
        reachable(table, &self.upstream)
    }

    /// The tables a dbt-like selection names: a comma-separated list of
    /// tables, each optionally with `+` before it (and its upstream tables)
    /// and/or after it (and its downstream tables).
    pub fn select(&self, selection: &str) -> Result<BTreeSet<String>, String> {
        let mut selected = BTreeSet::new();
        for item in selection.split(',').map(str::trim) {
            if item.is_empty() {
                continue;
            }
            let (up, rest) = match item.strip_prefix('+') {
                Some(rest) => (true, rest),
                None => (false, item),
            };
            let (down, name) = match rest.strip_suffix('+') {
                Some(name) => (true, name),
                None => (false, rest),
            };
            let name = name.trim();
            if !self.upstream.contains_key(name) {
                let known: Vec<&str> = self.order.iter().map(String::as_str).collect();
                return Err(format!(
                    "--select `{item}`: no table `{name}` (tables: {})",
                    known.join(", ")
                ));
            }
            selected.insert(name.to_string());
            if up {
                selected.extend(self.with_ancestors(name));
            }
            if down {
                selected.extend(self.with_descendants(name));
            }
        }
        if selected.is_empty() {
            return Err("--select names no table".to_string());
        }
        Ok(selected)
    }

    /// One line per table, in run order, with its inputs.
    pub fn to_text(&self, tables: &BTreeMap<String, TableSpec>) -> String {
        let mut out = String::new();
        for name in &self.order {
            let Some(table) = tables.get(name) else {
                continue;
            };
            let from = match &table.source {
                Some(source) => format!("{} ({})", source.location, source.pattern),
                None => self.upstream(name).join(", "),
            };
            out.push_str(&format!("{name} <- {from}  [plugin {}]\n", table.plugin));
        }
        out
    }

    /// The graph in Graphviz DOT.
    pub fn to_dot(&self, tables: &BTreeMap<String, TableSpec>) -> String {
        let mut out = String::from("digraph pipeline {\n  rankdir=LR;\n  node [shape=box];\n");
        for name in &self.order {
            let plugin = tables.get(name).map_or("", |t| t.plugin.as_str());
            out.push_str(&format!(
                "  {} [label=\"{}\\n({})\"];\n",
                quote(name),
                name,
                plugin
            ));
            if let Some(source) = tables.get(name).and_then(|t| t.source.as_ref()) {
                let id = quote(&format!("landing:{name}"));
                let label = format!("{}{}", source.location, source.pattern).replace('"', "\\\"");
                out.push_str(&format!(
                    "  {id} [shape=folder, label=\"{label}\"];\n  {id} -> {};\n",
                    quote(name)
                ));
            }
            for input in self.upstream(name) {
                out.push_str(&format!("  {} -> {};\n", quote(input), quote(name)));
            }
        }
        out.push_str("}\n");
        out
    }
}

fn reachable(table: &str, edges: &BTreeMap<String, Vec<String>>) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![table.to_string()];
    while let Some(name) = stack.pop() {
        if seen.insert(name.clone()) {
            stack.extend(edges.get(&name).cloned().unwrap_or_default());
        }
    }
    seen
}

fn quote(id: &str) -> String {
    format!("\"{}\"", id.replace('"', "\\\""))
}

fn find_cycle(upstream: &BTreeMap<String, Vec<String>>, stuck: &BTreeSet<&str>) -> Vec<String> {
    // Every stuck table has a stuck input, so walking inputs must revisit one.
    let Some(start) = stuck.first() else {
        return Vec::new();
    };
    let mut path: Vec<&str> = vec![start];
    loop {
        let current = path[path.len() - 1];
        let next = upstream
            .get(current)
            .and_then(|inputs| inputs.iter().find(|i| stuck.contains(i.as_str())))
            .map(String::as_str);
        let Some(next) = next else {
            return path.iter().map(|s| s.to_string()).collect();
        };
        if let Some(pos) = path.iter().position(|p| *p == next) {
            // `path` follows inputs; data flows the other way round.
            let mut cycle = vec![next.to_string()];
            cycle.extend(path[pos + 1..].iter().rev().map(|s| s.to_string()));
            cycle.push(next.to_string());
            return cycle;
        }
        path.push(next);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str, inputs: &[&str]) -> (String, TableSpec) {
        (
            name.to_string(),
            TableSpec {
                name: name.to_string(),
                plugin: "p".to_string(),
                source: None,
                inputs: inputs.iter().map(|s| s.to_string()).collect(),
                options_json: "{}".to_string(),
                limits: Default::default(),
                quarantine: None,
                comment: None,
                span: 0..0,
            },
        )
    }

    #[test]
    fn orders_by_dependency_then_name() {
        let tables: BTreeMap<_, _> = [
            table("gold", &["b", "a"]),
            table("b", &[]),
            table("a", &[]),
            table("c", &["a"]),
        ]
        .into_iter()
        .collect();
        let dag = Dag::new(&tables).unwrap();
        assert_eq!(dag.order(), ["a", "b", "c", "gold"]);
        assert_eq!(
            dag.with_descendants("a"),
            ["a", "c", "gold"].iter().map(|s| s.to_string()).collect()
        );
        assert!(dag.to_dot(&tables).contains("\"a\" -> \"gold\";"));
    }

    #[test]
    fn selects_like_dbt() {
        let tables: BTreeMap<_, _> = [
            table("a", &[]),
            table("b", &[]),
            table("c", &["a"]),
            table("d", &["c", "b"]),
            table("e", &["d"]),
        ]
        .into_iter()
        .collect();
        let dag = Dag::new(&tables).unwrap();
        let names = |s: &str| -> BTreeSet<String> {
            s.split(' ')
                .filter(|t| !t.is_empty())
                .map(str::to_string)
                .collect()
        };
        assert_eq!(dag.select("c").unwrap(), names("c"));
        assert_eq!(dag.select("+d").unwrap(), names("a b c d"));
        assert_eq!(dag.select("c+").unwrap(), names("c d e"));
        assert_eq!(dag.select("+c+").unwrap(), names("a c d e"));
        assert_eq!(dag.select(" b , e ").unwrap(), names("b e"));
        let unknown = dag.select("c,zz+").unwrap_err();
        assert!(
            unknown.contains("no table `zz`") && unknown.contains("a, b, c"),
            "{unknown}"
        );
        assert!(dag.select(" , ").is_err());
    }

    #[test]
    fn reports_a_cycle() {
        let tables: BTreeMap<_, _> = [
            table("a", &["c"]),
            table("b", &["a"]),
            table("c", &["b"]),
            table("d", &[]),
        ]
        .into_iter()
        .collect();
        let cycle = Dag::new(&tables).unwrap_err();
        assert_eq!(cycle, ["a", "b", "c", "a"]);
    }
}
