//! A flow's counters, kept in the order the plugin first reported them (the
//! event log shows expectations in declaration order).

use serde::ser::{Serialize, SerializeMap, Serializer};

/// At most this many distinct counters per flow: a plugin cannot grow host
/// memory by inventing names.
const MAX_COUNTERS: usize = 1024;
const MAX_NAME_CHARS: usize = 128;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    entries: Vec<(String, i64)>,
}

impl Counters {
    pub fn add(&mut self, name: &str, delta: i64) {
        let name: String = name.chars().take(MAX_NAME_CHARS).collect();
        if let Some((_, value)) = self.entries.iter_mut().find(|(n, _)| *n == name) {
            *value = value.saturating_add(delta);
        } else if self.entries.len() < MAX_COUNTERS {
            self.entries.push((name, delta));
        }
    }

    /// Adds every counter of `other` to this one's.
    pub fn absorb(&mut self, other: &Counters) {
        for (name, value) in &other.entries {
            self.add(name, *value);
        }
    }

    /// Sets `name` unless the plugin reported it already.
    pub fn set_default(&mut self, name: &str, value: i64) {
        if self.get(name).is_none() {
            self.add(name, value);
        }
    }

    pub fn get(&self, name: &str) -> Option<i64> {
        self.entries
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| *v)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(n, _)| n.as_str())
    }
}

impl Serialize for Counters {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.entries.len()))?;
        for (name, value) in &self.entries {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_first_report_order_and_sums() {
        let mut c = Counters::default();
        c.add("b", 1);
        c.add("a", 2);
        c.add("b", 3);
        c.set_default("a", 100);
        c.set_default("z", 7);
        assert_eq!(c.names().collect::<Vec<_>>(), ["b", "a", "z"]);
        assert_eq!(c.get("b"), Some(4));
        assert_eq!(serde_json::to_string(&c).unwrap(), r#"{"b":4,"a":2,"z":7}"#);
    }
}
