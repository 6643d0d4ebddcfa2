//! Helpers shared by the integration tests.
#![allow(dead_code)]

use netpol::backend::{Target, Versions};
use netpol::driver::{compile, Compilation, Loader, Options};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Sources held in memory, keyed by path.
pub struct MemLoader(pub HashMap<String, String>);

impl Loader for MemLoader {
    fn load(&self, path: &str) -> Result<String, String> {
        self.0.get(path).cloned().ok_or_else(|| "no such file".to_string())
    }
    fn join(&self, _from: &str, import: &str) -> String {
        import.to_string()
    }
}

/// Reads from disk relative to the crate root.
pub struct DiskLoader;

impl Loader for DiskLoader {
    fn load(&self, path: &str) -> Result<String, String> {
        std::fs::read_to_string(root().join(path)).map_err(|e| e.to_string())
    }
    fn join(&self, from: &str, import: &str) -> String {
        Path::new(from).parent().unwrap_or(Path::new("")).join(import).display().to_string()
    }
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Compiles one in-memory program named `test.netpol`.
pub fn compile_str(src: &str, targets: &[Target], sets: &[(&str, &str)]) -> Compilation {
    compile_with(src, targets, sets, Versions::DEFAULT)
}

/// [`compile_str`] for chosen CNI releases.
pub fn compile_with(src: &str, targets: &[Target], sets: &[(&str, &str)], versions: Versions) -> Compilation {
    let loader = MemLoader(HashMap::from([("test.netpol".to_string(), src.to_string())]));
    let options = Options {
        overrides: sets.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        targets: targets.to_vec(),
        versions,
    };
    compile(&["test.netpol".to_string()], &loader, &options)
}

pub fn codes(c: &Compilation) -> Vec<&'static str> {
    c.diagnostics.iter().map(|d| d.code).collect()
}

/// Every example file, relative to the crate root, sorted.
pub fn examples() -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(root().join("examples"))
        .expect("examples/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "netpol"))
        .map(|p| format!("examples/{}", p.file_name().expect("name").to_string_lossy()))
        .collect();
    out.sort();
    out
}

/// The upstream schema folder: `$NETPOL_SCHEMAS`, else `../shared/schemas`. `None` (after
/// saying so) where it is absent; CI always has it.
pub fn schemas_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("NETPOL_SCHEMAS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/schemas"));
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "SKIPPED: schema folder {} not found; set NETPOL_SCHEMAS to validate against upstream schemas",
            dir.display()
        );
        None
    }
}

/// A validator for one Kubernetes NetworkPolicy object (strict: unknown fields fail).
pub fn kubernetes_validator() -> Option<jsonschema::Validator> {
    let dir = schemas_dir()?;
    let path = dir.join("kubernetes/networkpolicy-networking-v1.standalone-strict.v1.35.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let schema: serde_json::Value = serde_json::from_str(&text).expect("schema is JSON");
    Some(jsonschema::validator_for(&schema).expect("schema compiles"))
}

/// Validates every object as a user applies it (its YAML, read back), returning the problems.
pub fn schema_errors(validator: &jsonschema::Validator, objects: &[netpol::backend::Object]) -> Vec<String> {
    let bodies: Vec<serde_json::Value> = objects.iter().map(|o| o.body()).collect();
    value_schema_errors(validator, &bodies)
}

pub fn value_schema_errors(validator: &jsonschema::Validator, values: &[serde_json::Value]) -> Vec<String> {
    let mut out = Vec::new();
    for value in values {
        assert!(!value.is_null(), "emitted YAML parses");
        for e in validator.iter_errors(value) {
            out.push(format!("{}: {} at {}", value["metadata"]["name"], e, e.instance_path()));
        }
    }
    out
}

/// Extra server-side rules the OpenAPI schema does not encode (types.go validation).
pub fn server_side_errors(objects: &[netpol::backend::Object]) -> Vec<String> {
    let mut out = Vec::new();
    for o in objects {
        let body = o.body();
        let spec = &body["spec"];
        for dir in ["ingress", "egress"] {
            for rule in spec[dir].as_array().into_iter().flatten() {
                for peer in
                    rule[if dir == "ingress" { "from" } else { "to" }].as_array().into_iter().flatten()
                {
                    if peer.get("ipBlock").is_some()
                        && (peer.get("podSelector").is_some() || peer.get("namespaceSelector").is_some())
                    {
                        out.push(format!("{}: ipBlock combined with a selector", o.name));
                    }
                    if let Some(b) = peer.get("ipBlock") {
                        let cidr: ipnet::IpNet =
                            b["cidr"].as_str().expect("cidr").parse().expect("valid cidr");
                        for e in b["except"].as_array().into_iter().flatten() {
                            let e: ipnet::IpNet = e.as_str().expect("except").parse().expect("valid except");
                            if !cidr.contains(&e) {
                                out.push(format!("{}: except {e} outside {cidr}", o.name));
                            }
                        }
                    }
                }
                for port in rule["ports"].as_array().into_iter().flatten() {
                    if port.get("protocol").is_none() {
                        out.push(format!("{}: port without explicit protocol", o.name));
                    }
                    if let Some(end) = port.get("endPort") {
                        match port["port"].as_i64() {
                            Some(p) if end.as_i64().expect("int") >= p => {}
                            _ => out.push(format!("{}: endPort without a numeric port below it", o.name)),
                        }
                    }
                }
            }
        }
        if spec.get("policyTypes").is_none() {
            out.push(format!("{}: policyTypes missing", o.name));
        }
    }
    out
}

/// The first line `# expect-error(TARGET): CODE` in a file, if any.
pub fn expected_error(text: &str, target: &str) -> Option<String> {
    let prefix = format!("# expect-error({target}):");
    text.lines().find_map(|l| l.trim().strip_prefix(&prefix).map(|c| c.trim().to_string()))
}

/// Renders diagnostics as a user sees them (no color), through the CLI's own renderer.
pub fn render(c: &Compilation) -> String {
    let mut buf = codespan_reporting::term::termcolor::NoColor::new(Vec::new());
    netpol::cli::render::human(&mut buf, &c.sources, &c.diagnostics).expect("render");
    String::from_utf8(buf.into_inner()).expect("utf8")
}
