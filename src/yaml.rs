//! The YAML writer: the one place that turns objects into text, so it can be swapped.

use crate::backend::Object;

/// One object as a YAML document (no leading `---`).
pub fn document(object: &Object) -> String {
    serde_yaml::to_string(&object.body).unwrap_or_default()
}

/// Objects as one multi-document stream, `kubectl apply -f` ready.
pub fn stream(objects: &[Object]) -> String {
    let mut out = String::new();
    for o in objects {
        out.push_str("---\n");
        out.push_str(&document(o));
    }
    out
}
