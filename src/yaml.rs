//! The YAML writer: the one place that turns objects into text, so it can be swapped.

use crate::backend::Object;
use serde::Serialize;

/// One typed object as a YAML document (no leading `---`), fields in the type's order.
pub fn document<T: Serialize>(value: &T) -> String {
    // Serializing plain data structures (strings, maps, lists, integers) cannot fail.
    serde_yaml::to_string(value).unwrap_or_default()
}

/// Objects as one multi-document stream, `kubectl apply -f` ready.
pub fn stream(objects: &[Object]) -> String {
    let mut out = String::with_capacity(objects.iter().map(|o| o.yaml.len() + 4).sum());
    for o in objects {
        out.push_str("---\n");
        out.push_str(&o.yaml);
    }
    out
}

/// A document read back as JSON, `Null` if it is not YAML.
pub fn parse(document: &str) -> serde_json::Value {
    serde_yaml::from_str(document).unwrap_or(serde_json::Value::Null)
}
