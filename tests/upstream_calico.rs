//! Calico's own example policies (tests/upstream/calico, see its README), read by the Calico
//! reader without unexpected problems, with verdicts for a few connections of each.

use netpol::analysis::ports::PortSet;
use netpol::analysis::side::Cell;
use netpol::analysis::targets::{self, Reading};
use netpol::analysis::universe::{PointId, Universe};
use netpol::backend::Target;
use netpol::driver::{compile, Loader, Options};
use netpol::ir::{Direction, Protocol};
use serde::Deserialize;
use serde_json::Value;

struct One(&'static str);

impl Loader for One {
    fn load(&self, _path: &str) -> Result<String, String> {
        Ok(self.0.to_string())
    }
    fn join(&self, _from: &str, import: &str) -> String {
        import.to_string()
    }
}

/// The workloads and networks the examples name.
const WORLD: &str = r#"namespace production {
    workload red { color: red }
    workload blue { color: blue }
    red connects to 1.2.3.0/24
}
namespace circles {
    workload blue { color: blue }
}
namespace data {
    workload database { role: database }
    workload frontend { role: frontend }
}
namespace demo {
    workload porter { app: porter }
    workload client { app: client }
    workload nginx { app: nginx }
}
namespace shop {
    workload customer { app: customer }
    workload summary { app: summary }
    workload database { app: database }
}
namespace migration-test {
    workload web { app: web, migration-test: "true" }
    web connects to 198.51.100.0/24
}
"#;

/// The universe, with every namespace's labels known (`circles` has `shape: circle`) and every
/// pod's service account (the name of its workload).
fn universe() -> Universe {
    let c = compile(&["world.netpol".to_string()], &One(WORLD), &Options::default());
    assert!(!c.has_errors(), "{:?}", c.diagnostics);
    let mut u = Universe::new(c.program.as_ref().expect("program"));
    for z in &mut u.zones {
        z.labels_known = true;
        if z.name == "circles" {
            z.labels.insert("shape".into(), "circle".into());
        }
    }
    for p in u.points.iter_mut().filter(|p| p.is_pod()) {
        let account = p.name.rsplit('/').next().unwrap_or("default").to_string();
        p.service_account = Some(account);
    }
    u
}

fn objects(file: &str) -> Vec<Value> {
    let path = format!("{}/tests/upstream/calico/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_yaml::Deserializer::from_str(&text)
        .map(|d| Value::deserialize(d).unwrap_or_else(|e| panic!("{path}: {e}")))
        .filter(|v| !v.is_null())
        .collect()
}

fn point(u: &Universe, name: &str) -> PointId {
    u.ids().find(|p| u.point(*p).name == name).unwrap_or_else(|| panic!("no point {name}"))
}

fn cell(r: &Reading, u: &Universe, subject: &str, dir: Direction, other: &str) -> Cell {
    r.semantics.side(point(u, subject), dir).at(u, point(u, other))
}

fn tcp(port: u16) -> PortSet {
    PortSet::range(Protocol::Tcp, port, port)
}

fn udp(port: u16) -> PortSet {
    PortSet::range(Protocol::Udp, port, port)
}

/// Certainly and possibly exactly `ports`.
fn exactly(c: &Cell, ports: &PortSet) -> bool {
    c.certain == *ports && c.possible == *ports
}

fn read<'u>(file: &str, u: &'u Universe, expected_problems: &[&str]) -> Reading<'u> {
    let r = targets::read(Target::Calico, &objects(file), u);
    assert_eq!(r.problems.len(), expected_problems.len(), "{file}: {:#?}", r.problems);
    for want in expected_problems {
        assert!(r.problems.iter().any(|p| p.contains(want)), "{file}: {want}: {:#?}", r.problems);
    }
    r
}

#[test]
fn get_started_policies() {
    let u = universe();
    let r = read("get-started/allow-tcp-6379.yaml", &u, &[]);
    assert!(exactly(&cell(&r, &u, "production/red", Direction::Ingress, "production/blue"), &tcp(6379)));
    assert!(cell(&r, &u, "production/red", Direction::Ingress, "circles/blue").possible.is_empty());
    assert!(r.semantics.side(point(&u, "production/red"), Direction::Egress).is_open());

    let r = read("get-started/allow-tcp-6379-namespace-selector.yaml", &u, &[]);
    assert!(exactly(&cell(&r, &u, "production/red", Direction::Ingress, "circles/blue"), &tcp(6379)));
    assert!(cell(&r, &u, "production/red", Direction::Ingress, "production/blue").possible.is_empty());

    // A Deny alone still isolates: the default tier ends in Deny.
    for file in ["get-started/deny-blue.yaml", "get-started/deny-circle-blue.yaml"] {
        let r = read(file, &u, &[]);
        for from in ["production/blue", "circles/blue", "data/frontend"] {
            assert!(cell(&r, &u, "production/red", Direction::Ingress, from).possible.is_empty(), "{file}");
        }
        assert!(r.semantics.side(point(&u, "production/blue"), Direction::Ingress).is_open());
    }

    let r = read("get-started/allow-egress-external.yaml", &u, &[]);
    assert!(cell(&r, &u, "production/red", Direction::Egress, "1.2.3.0").certain.is_all());
    assert!(cell(&r, &u, "production/red", Direction::Egress, "203.0.113.7").possible.is_empty());
    // A pod's address may lie in the network.
    let blue = cell(&r, &u, "production/red", Direction::Egress, "production/blue");
    assert!(blue.certain.is_empty() && blue.possible.is_all());
}

#[test]
fn global_network_policy_reference_sample() {
    let u = universe();
    let r = read("globalnetworkpolicy-reference.yaml", &u, &[]);
    assert!(exactly(&cell(&r, &u, "data/database", Direction::Ingress, "data/frontend"), &tcp(6379)));
    assert!(cell(&r, &u, "data/database", Direction::Ingress, "shop/customer").possible.is_empty());
    assert!(cell(&r, &u, "data/database", Direction::Egress, "203.0.113.7").certain.is_all());
    // `app: database` is not `role: database`.
    assert!(r.semantics.side(point(&u, "shop/database"), Direction::Ingress).is_open());
}

#[test]
fn application_layer_demo_by_service_account() {
    let u = universe();
    let r = read("app-policy-demo.yaml", &u, &["spec.ingress[0].http"]);
    // The HTTP match is layer 7: possibly.
    let c = cell(&r, &u, "shop/customer", Direction::Ingress, "shop/summary");
    assert!(c.certain.is_empty() && c.possible.is_all());
    // By service account: summary accepts customer's, database summary's.
    assert!(cell(&r, &u, "shop/summary", Direction::Ingress, "shop/customer").certain.is_all());
    assert!(cell(&r, &u, "shop/summary", Direction::Ingress, "shop/database").possible.is_empty());
    assert!(cell(&r, &u, "shop/database", Direction::Ingress, "shop/summary").certain.is_all());
    assert!(cell(&r, &u, "shop/database", Direction::Ingress, "shop/customer").possible.is_empty());
    assert!(cell(&r, &u, "shop/database", Direction::Egress, "203.0.113.7").certain.is_all());
}

#[test]
fn tiers_and_network_sets_of_the_migration_seed() {
    let u = universe();
    let r = read(
        "migration-seed-resources.yaml",
        &u,
        &[
            "HostEndpoint test-hep",
            "BGPPeer test-peer",
            "GlobalNetworkSet test-external-ips",
            "NetworkSet migration-test/test-trusted-ips",
        ],
    );
    let web = "migration-test/web";
    // Tier security (order 200) allows UDP 53 out and denies the rest at its end.
    assert!(exactly(&cell(&r, &u, web, Direction::Egress, "198.51.100.0"), &udp(53)));
    assert!(exactly(&cell(&r, &u, web, Direction::Egress, "production/red"), &udp(53)));
    // In the default tier, test-allow-web (order 500) before test-deny-all (order 1000).
    let web_ports = tcp(80).union(&tcp(443));
    assert!(exactly(&cell(&r, &u, web, Direction::Ingress, "production/red"), &web_ports));
    assert!(r.semantics.side(point(&u, "production/red"), Direction::Ingress).is_open());
}

#[test]
fn kubernetes_policies_as_calico_enforces_them() {
    let u = universe();
    let r = read("winfv-ingress.yaml", &u, &[]);
    assert!(exactly(&cell(&r, &u, "demo/porter", Direction::Ingress, "demo/client"), &tcp(80)));
    assert!(cell(&r, &u, "demo/porter", Direction::Ingress, "demo/nginx").possible.is_empty());
    assert!(r.semantics.side(point(&u, "demo/client"), Direction::Ingress).is_open());

    let r = read("winfv-egress.yaml", &u, &[]);
    // `to:` left empty: every peer, on UDP 53.
    assert!(exactly(&cell(&r, &u, "demo/porter", Direction::Egress, "203.0.113.7"), &udp(53)));
    assert!(exactly(&cell(&r, &u, "demo/porter", Direction::Egress, "demo/client"), &udp(53)));
    assert!(exactly(&cell(&r, &u, "demo/porter", Direction::Egress, "demo/nginx"), &udp(53).union(&tcp(80))));
    assert!(r.semantics.side(point(&u, "demo/porter"), Direction::Ingress).is_open());
}
