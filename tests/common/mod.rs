//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod flows;
pub mod gen;
pub mod import;
pub mod import_cilium;

use netpol::backend::{Target, Versions};
use netpol::driver::{compile, Compilation, Loader, Options};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The real binary, run in `dir` without color.
pub fn netpol(args: &[&str], dir: &Path) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_netpol"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("run netpol")
}

/// The real binary, run in `dir` without color, with `stdin` on its standard input.
pub fn netpol_with_stdin(args: &[&str], dir: &Path, stdin: &str) -> std::process::Output {
    use std::io::Write as _;
    use std::process::Stdio;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_netpol"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run netpol");
    child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("write stdin");
    child.wait_with_output().expect("wait")
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Writes `body` to `dir/name`, creating folders on the way.
pub fn write(dir: &Path, name: &str, body: &str) {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, body).expect("write");
}

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
        ..Options::default()
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

/// The upstream schema folder: `$NETPOL_SCHEMAS`, else the repository's own copies
/// (`schemas/`, see its README).
pub fn schemas_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("NETPOL_SCHEMAS").map(PathBuf::from).unwrap_or_else(|| root().join("schemas"));
    assert!(dir.is_dir(), "schema folder {} not found (NETPOL_SCHEMAS)", dir.display());
    Some(dir)
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
                            // "must be a strict subset of `cidr`" (ValidateIPBlock).
                            if !cidr.contains(&e) || e == cidr {
                                out.push(format!("{}: except {e} not strictly inside {cidr}", o.name));
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

/// The `openAPIV3Schema` of a CRD, made strict the way kubeconform's `-strict` is: every object
/// that declares properties rejects unknown ones (unless the CRD preserves unknown fields),
/// and `apiVersion` / `kind` are pinned. CEL rules (`x-kubernetes-validations`) are not
/// evaluated here; the per-target checks below cover the ones that matter for netpol's output.
pub fn crd_validator(path: &Path) -> jsonschema::Validator {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let crd: serde_json::Value = serde_yaml::from_str(&text).expect("CRD is YAML");
    let group = crd["spec"]["group"].as_str().expect("group");
    let kind = crd["spec"]["names"]["kind"].as_str().expect("kind");
    let version = crd["spec"]["versions"]
        .as_array()
        .expect("versions")
        .iter()
        .find(|v| v["served"] == true && v["storage"] == true)
        .expect("a served storage version");
    let mut schema = version["schema"]["openAPIV3Schema"].clone();
    strict(&mut schema);
    let api_version = format!("{group}/{}", version["name"].as_str().expect("version name"));
    let wrapped = serde_json::json!({
        "allOf": [schema, {
            "properties": {"apiVersion": {"const": api_version}, "kind": {"const": kind}},
            "required": ["apiVersion", "kind", "metadata", "spec"],
        }]
    });
    jsonschema::validator_for(&wrapped).expect("CRD schema compiles")
}

fn strict(s: &mut serde_json::Value) {
    let Some(map) = s.as_object_mut() else { return };
    if map.get("x-kubernetes-int-or-string") == Some(&serde_json::Value::Bool(true))
        && !map.contains_key("anyOf")
        && !map.contains_key("type")
    {
        map.insert("type".into(), serde_json::json!(["integer", "string"]));
    }
    // Only real object schemas: the `oneOf`/`anyOf` branches of a CRD name properties only to
    // require them.
    if map.contains_key("properties")
        && map.get("type") == Some(&serde_json::json!("object"))
        && !map.contains_key("additionalProperties")
        && map.get("x-kubernetes-preserve-unknown-fields") != Some(&serde_json::Value::Bool(true))
    {
        map.insert("additionalProperties".into(), serde_json::Value::Bool(false));
    }
    for (_, v) in map.iter_mut() {
        match v {
            serde_json::Value::Object(_) => strict(v),
            serde_json::Value::Array(items) => items.iter_mut().for_each(strict),
            _ => {}
        }
    }
}

/// Validators for every kind a target emits, each against every upstream release on file:
/// Cilium 1.17.6 and the 1.19 branch point; Calico v3.32.1 and master (stricter).
pub struct CrdSchemas {
    by_kind: Vec<(&'static str, String, jsonschema::Validator)>,
}

impl CrdSchemas {
    pub fn for_target(target: Target) -> Option<CrdSchemas> {
        let dir = schemas_dir()?;
        let files: &[(&str, &str)] = match target {
            Target::Kubernetes => return None,
            // The NetworkPolicies beside them are checked with `kubernetes_validator`.
            Target::KubernetesCnp => &[
                (
                    "ClusterNetworkPolicy",
                    "kubernetes/network-policy-api/v0.2.0/standard/policy.networking.k8s.io_clusternetworkpolicies.yaml",
                ),
                (
                    "ClusterNetworkPolicy",
                    "kubernetes/network-policy-api/v0.2.0/experimental/policy.networking.k8s.io_clusternetworkpolicies.yaml",
                ),
            ],
            Target::Cilium => &[
                ("CiliumNetworkPolicy", "cilium/ciliumnetworkpolicies.yaml"),
                ("CiliumNetworkPolicy", "cilium/v1.19-branchpoint/ciliumnetworkpolicies.yaml"),
                ("CiliumClusterwideNetworkPolicy", "cilium/ciliumclusterwidenetworkpolicies.yaml"),
                (
                    "CiliumClusterwideNetworkPolicy",
                    "cilium/v1.19-branchpoint/ciliumclusterwidenetworkpolicies.yaml",
                ),
            ],
            Target::Calico => &[
                ("NetworkPolicy", "calico/projectcalico.org_v3_networkpolicies.yaml"),
                ("NetworkPolicy", "calico/master/projectcalico.org_v3_networkpolicies.yaml"),
                ("GlobalNetworkPolicy", "calico/projectcalico.org_v3_globalnetworkpolicies.yaml"),
                ("GlobalNetworkPolicy", "calico/master/projectcalico.org_v3_globalnetworkpolicies.yaml"),
                ("Tier", "calico/projectcalico.org_v3_tiers.yaml"),
                ("Tier", "calico/master/projectcalico.org_v3_tiers.yaml"),
            ],
        };
        Some(CrdSchemas {
            by_kind: files
                .iter()
                .map(|(kind, file)| (*kind, file.to_string(), crd_validator(&dir.join(file))))
                .collect(),
        })
    }

    /// Problems with each object (read back from its YAML), against every schema for its kind.
    pub fn errors(&self, values: &[serde_json::Value]) -> Vec<String> {
        let mut out = Vec::new();
        for value in values {
            let kind = value["kind"].as_str().unwrap_or_default();
            let schemas: Vec<_> = self.by_kind.iter().filter(|(k, _, _)| *k == kind).collect();
            if schemas.is_empty() {
                out.push(format!("{}: no schema for kind {kind}", value["metadata"]["name"]));
            }
            for (_, file, validator) in schemas {
                for e in validator.iter_errors(value) {
                    out.push(format!("{} ({file}): {e} at {}", value["metadata"]["name"], e.instance_path()));
                }
            }
        }
        out
    }

    pub fn object_errors(&self, objects: &[netpol::backend::Object]) -> Vec<String> {
        self.errors(&objects.iter().map(|o| o.body()).collect::<Vec<_>>())
    }
}

/// Rules the Cilium agent enforces beyond the CRD schema (`pkg/policy/api/rule_validation.go`):
/// one L3 selector kind per rule, `toFQDNs` alone, `endPort` above `port`, explicit protocols,
/// and no rule sections that are present but empty.
pub fn cilium_semantic_errors(value: &serde_json::Value) -> Vec<String> {
    let name = &value["metadata"]["name"];
    let mut out = Vec::new();
    let spec = &value["spec"];
    for section in ["ingress", "ingressDeny", "egress", "egressDeny"] {
        if let Some(rules) = spec.get(section) {
            if rules.as_array().is_none_or(|r| r.is_empty()) {
                out.push(format!("{name}: `{section}` is present but empty (an inert policy)"));
            }
        }
        for rule in spec[section].as_array().into_iter().flatten() {
            let l3: Vec<&str> = [
                "fromEndpoints",
                "fromEntities",
                "fromCIDR",
                "fromCIDRSet",
                "toEndpoints",
                "toEntities",
                "toCIDR",
                "toCIDRSet",
                "toFQDNs",
                "toServices",
                "fromRequires",
                "toRequires",
            ]
            .into_iter()
            .filter(|k| rule.get(*k).is_some())
            .collect();
            if l3.len() > 1 {
                out.push(format!("{name}: {section} rule mixes {l3:?}"));
            }
            if l3.iter().any(|k| k.ends_with("Requires")) {
                out.push(format!("{name}: uses {l3:?}, removed in Cilium 1.19"));
            }
            for pr in rule["toPorts"].as_array().into_iter().flatten() {
                for p in pr["ports"].as_array().into_iter().flatten() {
                    if p.get("protocol").is_none() {
                        out.push(format!("{name}: port without protocol (Cilium reads it as ANY)"));
                    }
                    if let Some(end) = p.get("endPort") {
                        let start: Option<i64> = p["port"].as_str().and_then(|s| s.parse().ok());
                        if start.is_none_or(|s| s > end.as_i64().expect("int")) {
                            out.push(format!("{name}: endPort without a numeric port below it"));
                        }
                    }
                    if pr.get("rules").is_some() && (p["port"] == "0" || p.get("endPort").is_some()) {
                        out.push(format!("{name}: L7 rules on a wildcard port or range"));
                    }
                }
            }
        }
    }
    if ["ingress", "ingressDeny", "egress", "egressDeny"].iter().all(|s| spec.get(*s).is_none()) {
        out.push(format!("{name}: no rule section (Cilium 1.19 rejects it)"));
    }
    out
}

/// Rules the Calico API server enforces beyond the CRD schema (`policy_common.go` and the
/// validator): ports need a port protocol, selectors fit 1024 characters and hold no
/// `global()`, `types` is explicit, and `notNets` only with `nets`.
pub fn calico_semantic_errors(value: &serde_json::Value) -> Vec<String> {
    let name = &value["metadata"]["name"];
    let mut out = Vec::new();
    let spec = &value["spec"];
    if value["kind"] == "Tier" {
        // `default` must keep Deny; a tier without `order` would run last (tier.go).
        if value["metadata"]["name"] == "default" || spec.get("order").is_none() {
            out.push(format!("{name}: a tier netpol must not write"));
        }
        return out;
    }
    if spec.get("types").is_none() {
        out.push(format!("{name}: types missing"));
    }
    let selector_ok =
        |s: &serde_json::Value| s.as_str().is_none_or(|s| s.len() <= 1024 && !s.contains("global("));
    if !selector_ok(&spec["selector"]) || !selector_ok(&spec["namespaceSelector"]) {
        out.push(format!("{name}: bad policy selector"));
    }
    for dir in ["ingress", "egress"] {
        for rule in spec[dir].as_array().into_iter().flatten() {
            for side in ["source", "destination"] {
                let e = &rule[side];
                if e.get("ports").is_some() {
                    let proto = rule["protocol"].as_str().unwrap_or_default();
                    if !["TCP", "UDP", "SCTP"].contains(&proto) {
                        out.push(format!("{name}: ports with protocol `{proto}`"));
                    }
                }
                if !selector_ok(&e["selector"]) || !selector_ok(&e["namespaceSelector"]) {
                    out.push(format!("{name}: bad rule selector"));
                }
                if e.get("notNets").is_some() && e.get("nets").is_none() {
                    out.push(format!("{name}: notNets without nets"));
                }
                // Services (libcalico-go v3 validator: `validateEntityRule`, `validateRule`,
                // `validateNetworkPolicy`): alone in the entity rule, only as the peer, and a
                // destination Service takes no ports.
                if let Some(services) = e.get("services") {
                    let peer_side = if dir == "ingress" { "source" } else { "destination" };
                    if side != peer_side {
                        out.push(format!("{name}: services in an {dir} rule's {side}"));
                    }
                    for other in
                        ["selector", "notSelector", "namespaceSelector", "serviceAccounts", "nets", "notNets"]
                    {
                        if e.get(other).is_some() {
                            out.push(format!("{name}: services beside {other}"));
                        }
                    }
                    if side == "destination" && (e.get("ports").is_some() || e.get("notPorts").is_some()) {
                        out.push(format!("{name}: ports beside a destination Service"));
                    }
                    if services["name"].as_str().is_none_or(str::is_empty)
                        || services["namespace"].as_str().is_none_or(str::is_empty)
                    {
                        out.push(format!("{name}: services without a name and namespace"));
                    }
                }
                let family = |n: &serde_json::Value| n.as_str().map(|s| s.contains(':'));
                let nets: Vec<_> = e["nets"].as_array().into_iter().flatten().map(family).collect();
                if nets.windows(2).any(|w| w[0] != w[1]) {
                    out.push(format!("{name}: nets mix IPv4 and IPv6"));
                }
            }
        }
    }
    out
}

/// Programs with constructs the examples do not use, for the readers' comparisons with the
/// source (`tests/readers_k8s_cilium.rs`, `tests/reader_calico.rs`). Each compiles for Calico and
/// Cilium.
pub const MORE_CONSTRUCTS: &[&str] = &[
    // A cluster-wide default deny: a GlobalNetworkPolicy on Calico, a
    // CiliumClusterwideNetworkPolicy on Cilium, E0301 on Kubernetes.
    "default deny all\n\
         namespace shop {\n\
           workload web { app: web }\n\
           workload api { app: api }\n\
           web connects to kube-dns\n\
           web -> api on tcp 8080\n\
           web accepts tcp 80 from namespace edge\n\
         }\n",
    // Set-based selectors; namespace sets by labels and by name.
    "namespace apps\n\
         workload api { app: api, tier in (backend, core), track notin (canary), team exists, !legacy }\n\
         workload web { app in (web, \"web-v2\") }\n\
         namespaces teams { team in (a, b), env: prod }\n\
         namespaces by-name { kubernetes.io/metadata.name in (apps, tools) }\n\
         api accepts tcp 8080 from web\n\
         api accepts tcp 9090 from teams\n\
         api accepts udp 53 from by-name\n\
         web connects to api on tcp 8080 and udp 8080\n\
         web connects to cluster on sctp\n",
    // Deny rules over namespaces, CIDRs with exceptions and port ranges, on open and
    // isolated directions.
    "namespace ops\n\
         workload tool { app: tool }\n\
         workload db { app: db }\n\
         tool never connects to namespace prod on tcp 5432\n\
         tool never connects to 10.0.0.0/8 except 10.1.0.0/16 on udp 1000-2000\n\
         db refuses sctp from tool\n\
         db accepts from namespace ops\n\
         tool connects to db on tcp 5432 and sctp 1-65535\n",
    // Namespace sets that pick kube-system (a namespace with only its name label).
    "namespace apps\n\
         workload api { app: api }\n\
         namespaces non-prod { env notin (prod) }\n\
         namespaces no-owner { !owner }\n\
         api accepts tcp 9090 from non-prod\n\
         api accepts udp 53 from no-owner\n",
];

/// Rules of ClusterNetworkPolicy (network-policy-api v0.2.0) beyond what JSON Schema checks:
/// the CRD's CEL rules (a range's `start` below its `end`; in the experimental channel, no
/// `destinationNamedPort` in a rule with `networks`, `nodes` or `domainNames`), `networks` that
/// parse as CIDRs (`isCIDR`), and `domainNames` only in `Accept` rules (the field's description).
pub fn cnp_semantic_errors(value: &serde_json::Value) -> Vec<String> {
    let name = &value["metadata"]["name"];
    let mut out = Vec::new();
    if value["kind"] != "ClusterNetworkPolicy" {
        return out;
    }
    for dir in ["ingress", "egress"] {
        for (i, rule) in value["spec"][dir].as_array().into_iter().flatten().enumerate() {
            let at = format!("{name} spec.{dir}[{i}]");
            let peers =
                rule[if dir == "ingress" { "from" } else { "to" }].as_array().cloned().unwrap_or_default();
            let addressed = peers
                .iter()
                .any(|p| !p["networks"].is_null() || !p["nodes"].is_null() || !p["domainNames"].is_null());
            for (j, proto) in rule["protocols"].as_array().into_iter().flatten().enumerate() {
                if addressed && !proto["destinationNamedPort"].is_null() {
                    out.push(format!(
                        "{at}.protocols[{j}]: a named port with networks, nodes or domain names"
                    ));
                }
                for p in ["tcp", "udp", "sctp"] {
                    let range = &proto[p]["destinationPort"]["range"];
                    if !range.is_null() && range["start"].as_u64() >= range["end"].as_u64() {
                        out.push(format!("{at}.protocols[{j}].{p}: start port must be less than end port"));
                    }
                }
            }
            for p in &peers {
                if !p["domainNames"].is_null() && rule["action"] != "Accept" {
                    out.push(format!("{at}: domainNames in a {} rule", rule["action"]));
                }
                for n in p["networks"].as_array().into_iter().flatten() {
                    if n.as_str().and_then(|n| n.parse::<ipnet::IpNet>().ok()).is_none() {
                        out.push(format!("{at}: {n} is not a CIDR"));
                    }
                }
            }
        }
    }
    out
}

/// ClusterNetworkPolicies of one tier that share a priority (the CRD: which one applies is then
/// undefined), as `tier priority: names`.
pub fn cnp_priority_clashes(values: &[serde_json::Value]) -> Vec<String> {
    let mut seen: std::collections::BTreeMap<(String, u64), Vec<String>> = Default::default();
    for v in values.iter().filter(|v| v["kind"] == "ClusterNetworkPolicy") {
        let key = (
            v["spec"]["tier"].as_str().unwrap_or("").to_string(),
            v["spec"]["priority"].as_u64().unwrap_or(0),
        );
        seen.entry(key).or_default().push(v["metadata"]["name"].as_str().unwrap_or("").to_string());
    }
    seen.into_iter()
        .filter(|(_, n)| n.len() > 1)
        .map(|((t, p), n)| format!("{t} {p}: {}", n.join(", ")))
        .collect()
}

/// `expect` lines the other way round: `can reach` ↔ `cannot reach`.
pub fn turned_around(text: &str) -> String {
    text.lines()
        .map(|l| {
            if l.contains(" cannot reach ") {
                l.replacen(" cannot reach ", " can reach ", 1)
            } else {
                l.replacen(" can reach ", " cannot reach ", 1)
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Applies `f` to every JSON object in `v`, depth first (for mutating emitted manifests).
pub fn each_object(
    v: &mut serde_json::Value,
    f: &mut dyn FnMut(&mut serde_json::Map<String, serde_json::Value>),
) {
    match v {
        serde_json::Value::Object(m) => {
            f(m);
            m.values_mut().for_each(|x| each_object(x, f));
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(|x| each_object(x, f)),
        _ => {}
    }
}

/// Cilium's own policy engine, `cilium-oracle` (its source and build script:
/// `tests/oracles/cilium/`): `$NETPOL_CILIUM_ORACLE`, else a build in that folder, else the build
/// beside the repository. `None` (after saying SKIPPED with `what` the caller would have
/// checked) where none is found; with `NETPOL_REQUIRE_CILIUM_ORACLE=1` that is a failure.
pub fn cilium_oracle(what: &str) -> Option<PathBuf> {
    let candidates: Vec<PathBuf> = match std::env::var_os("NETPOL_CILIUM_ORACLE") {
        Some(p) => vec![PathBuf::from(p)],
        None => vec![
            root().join("tests/oracles/cilium/cilium-oracle"),
            root().join("../shared/oracles/cilium/cilium-oracle"),
        ],
    };
    if let Some(found) = candidates.iter().find(|p| p.is_file()) {
        return Some(found.clone());
    }
    let looked: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
    assert!(
        std::env::var_os("NETPOL_REQUIRE_CILIUM_ORACLE").is_none_or(|v| v.is_empty() || v == "0"),
        "NETPOL_REQUIRE_CILIUM_ORACLE is set, but cilium-oracle is not at {}",
        looked.join(" or ")
    );
    eprintln!(
        "SKIPPED: cilium-oracle not at {}; build it (tests/oracles/cilium/README.md) or set NETPOL_CILIUM_ORACLE to {what}",
        looked.join(" or ")
    );
    None
}

/// Runs the oracle on `policies` over the pods of `topology` with more `args` (`-probes`…).
pub fn run_cilium_oracle(
    oracle: &Path,
    policies: &str,
    topology: &str,
    args: &[&str],
) -> std::io::Result<std::process::Output> {
    let dir = tempfile::tempdir().expect("tempdir");
    let (p, t) = (dir.path().join("policies.yaml"), dir.path().join("topology.yaml"));
    std::fs::write(&p, policies).expect("write");
    std::fs::write(&t, topology).expect("write");
    std::process::Command::new(oracle).arg("-policies").arg(&p).arg("-topology").arg(&t).args(args).output()
}

/// The first `console` block of the README section headed `## {heading}`: the netpol command's
/// arguments and the output the README shows for it.
pub fn readme_example(heading: &str) -> (Vec<String>, String) {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README");
    let start = readme.find(&format!("## {heading}\n")).unwrap_or_else(|| panic!("no section {heading}"));
    let section = &readme[start..start + readme[start..].find("\n## ").expect("next section")];
    let block = section.split("```console\n").nth(1).expect("a console block");
    let block = &block[..block.find("```").expect("closed")];
    let (cmd, want) = block.split_once('\n').expect("command and output");
    let args = cmd
        .strip_prefix("$ netpol ")
        .expect("a netpol command")
        .split_whitespace()
        .map(String::from)
        .collect();
    (args, want.to_string())
}
