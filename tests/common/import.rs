//! Helpers of the import tests (`tests/import*.rs`): worlds of manifests as `netpol import`
//! reads them, and compiles to compare with.

use super::{compile_str, render};
use netpol::backend::Target;
use netpol::span::SourceMap;
use netpol::world::{Use, World};
use serde_json::Value;

/// A world of policy streams (name, text) and inventory streams.
pub fn world_of(policies: &[(&str, &str)], inventory: &[(&str, &str)]) -> (SourceMap, World) {
    let mut sources = SourceMap::new();
    let mut world = World::default();
    for (usage, files) in [(Use::Policies, policies), (Use::Inventory, inventory)] {
        for (name, text) in files {
            let file = sources.add(name.to_string(), text.to_string());
            world.add_file(&sources, file, usage, "default");
        }
    }
    assert!(!world.diagnostics.iter().any(|d| d.is_error()), "{:?}", world.diagnostics);
    (sources, world)
}

/// The source compiled for `target`, as one YAML stream; `None` where it does not compile.
pub fn compile_yaml(src: &str, target: Target) -> Option<String> {
    let c = compile_str(src, &[target], &[]);
    if c.has_errors() {
        return None;
    }
    Some(c.outputs.iter().flat_map(|(_, o)| o).map(|o| format!("---\n{}", o.yaml)).collect())
}

/// The objects of a compile without what differs between two sources of the same meaning:
/// the objects' annotations (file:line), and the source lines of Calico's rules
/// (`netpol/source`).
pub fn bodies(src: &str, target: Target) -> Vec<Value> {
    let c = compile_str(src, &[target], &[]);
    assert!(!c.has_errors(), "{}", render(&c));
    fn strip(v: &mut Value) {
        match v {
            Value::Object(m) => {
                m.remove("netpol/source");
                if let Some(Value::Object(a)) = m.get("annotations") {
                    if a.is_empty() {
                        m.remove("annotations");
                    }
                }
                m.values_mut().for_each(strip);
            }
            Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    c.outputs
        .iter()
        .flat_map(|(_, o)| o)
        .map(|o| {
            let mut v = o.body();
            if let Some(m) = v["metadata"].as_object_mut() {
                m.remove("annotations");
            }
            strip(&mut v);
            v
        })
        .collect()
}
