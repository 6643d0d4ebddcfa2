//! Policies netpol does not write: the `crd.projectcalico.org/v1` forms, staged kinds,
//! Kubernetes NetworkPolicy as Calico converts it, service accounts, network sets, and fields
//! that are refused or read as possibly.

use super::*;

pub(super) const CRD: &str = "crd.projectcalico.org/v1";

fn with_api(mut v: Value, api: &str) -> Value {
    v["apiVersion"] = json!(api);
    v
}

pub(super) fn knp(ns: &str, name: &str, spec: Value) -> Value {
    json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
           "metadata": {"name": name, "namespace": ns}, "spec": spec})
}

pub(super) fn deny_all_ingress_of_api(name: &str, order: f64) -> Value {
    np(
        "shop",
        name,
        json!({"order": order, "selector": "app == 'api'", "types": ["Ingress"],
        "ingress": [{"action": "Deny"}]}),
    )
}

/// Whether the connection is possibly but not certainly allowed on `ports`.
pub(super) fn only_possibly(cell: &Cell, ports: &PortSet) -> bool {
    cell.possible.intersect(ports) == *ports && cell.certain.intersect(ports).is_empty()
}

#[test]
fn crd_forms_read_like_their_v3_forms_with_tier_prefixes() {
    let u = universe();
    let objects = [
        with_api(tier("platform", json!({"order": 100})), CRD),
        // The default tier's policies are stored as `default.<name>`.
        with_api(
            np(
                "shop",
                "default.api",
                json!({"selector": "app == 'api'", "types": ["Ingress"],
                "ingress": [{"action": "Allow", "source": {"selector": "app == 'web'"}}]}),
            ),
            CRD,
        ),
        // Another tier's as `<tier>.<name>`.
        with_api(
            gnp(
                "platform.deny-db",
                json!({"tier": "platform", "selector": "app == 'db'", "types": ["Ingress"],
                "ingress": [{"action": "Deny", "source": {"selector": "app == 'web'"}}]}),
            ),
            CRD,
        ),
    ];
    let c = read_ok(&objects, &u);
    assert!(cell(&c, &u, "shop/api", Direction::Ingress, "shop/web").certain.is_all());
    assert!(cell(&c, &u, "shop/api", Direction::Ingress, "shop/db").possible.is_empty());
    // The platform tier denies web to db, and its end denies the rest.
    assert!(cell(&c, &u, "shop/db", Direction::Ingress, "shop/web").possible.is_empty());
    // `default.api` under the CRD is `api` of the v3 API: one object, given twice.
    let v3 = np("shop", "api", json!({"selector": "app == 'api'", "types": ["Ingress"]}));
    let (c, problems) = Calico::new(&[objects[1].clone(), v3], &u);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(problems[0].contains("appears twice"), "{problems:#?}");
    assert!(cell(&c, &u, "shop/api", Direction::Ingress, "shop/web").possible.is_empty());
    // A name that fits no release's form is reported, and read.
    let odd = with_api(gnp("deny-db", json!({"tier": "platform", "selector": "app == 'db'"})), CRD);
    let (c, problems) = Calico::new(&[objects[0].clone(), odd], &u);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(problems[0].contains("lacks the prefix \"platform\""), "{problems:#?}");
    assert!(cell(&c, &u, "shop/db", Direction::Ingress, "shop/web").possible.is_empty());
    let dotted = with_api(np("shop", "team.api", json!({"selector": "app == 'api'"})), CRD);
    let (_, problems) = Calico::new(&[dotted], &u);
    assert!(problems.len() == 1 && problems[0].contains("begins with \"team\""), "{problems:#?}");
}

#[test]
fn staged_policies_do_not_enforce() {
    let u = universe();
    for (api, kind) in [
        (API_VERSION, "StagedNetworkPolicy"),
        (CRD, "StagedNetworkPolicy"),
        (API_VERSION, "StagedGlobalNetworkPolicy"),
        (API_VERSION, "StagedKubernetesNetworkPolicy"),
    ] {
        let mut obj = deny_all_ingress_of_api("staged", 1.0);
        obj["apiVersion"] = json!(api);
        obj["kind"] = json!(kind);
        let (c, problems) = Calico::new(&[obj], &u);
        assert!(
            problems.len() == 1 && problems[0].contains("staged policy does not enforce"),
            "{problems:#?}"
        );
        assert!(c.side(point(&u, "shop/api"), Direction::Ingress).is_open(), "{kind}");
    }
}

#[test]
fn service_accounts_decide_where_known_and_possibly_elsewhere() {
    let mut u = universe();
    let (api, web, db) = (point(&u, "shop/api"), point(&u, "shop/web"), point(&u, "shop/db"));
    let policy = np(
        "shop",
        "api",
        json!({"selector": "app == 'api'", "types": ["Ingress"],
        "ingress": [{"action": "Allow", "source": {"serviceAccounts": {"names": ["frontend"]}}}]}),
    );
    // Unknown service accounts: possibly, and said.
    let (c, problems) = Calico::new(std::slice::from_ref(&policy), &u);
    assert!(problems.iter().any(|p| p.contains("service account is not known")), "{problems:#?}");
    assert!(only_possibly(&c.side(api, Direction::Ingress).at(&u, web), &PortSet::all()));
    // Known: exactly.
    for p in u.points.iter_mut().filter(|p| p.is_pod()) {
        p.service_account = Some("default".into());
    }
    u.points[web as usize].service_account = Some("frontend".into());
    let c = read_ok(std::slice::from_ref(&policy), &u);
    assert!(c.side(api, Direction::Ingress).at(&u, web).certain.is_all());
    assert!(c.side(api, Direction::Ingress).at(&u, db).possible.is_empty());
    // The policy's own serviceAccountSelector, on the name label of the account's profile.
    let by_account = np(
        "shop",
        "sa",
        json!({"selector": "all()", "serviceAccountSelector":
        "projectcalico.org/name == 'frontend'", "types": ["Egress"]}),
    );
    let c = read_ok(&[by_account], &u);
    assert!(c.side(web, Direction::Egress).at(&u, db).possible.is_empty());
    assert!(c.side(db, Direction::Egress).is_open());
}

#[test]
fn a_policy_that_possibly_selects_a_pod_possibly_decides() {
    let u = universe();
    let (db, web) = (point(&u, "shop/db"), point(&u, "shop/web"));
    // `env` is not a label the synthetic universe knows of namespaces.
    let g = gnp(
        "by-env",
        json!({"namespaceSelector": "env == 'prod'", "selector": "app == 'db'", "types": ["Ingress"]}),
    );
    let (c, problems) = Calico::new(&[g], &u);
    assert!(problems.iter().any(|p| p.contains("read as possibly selecting them")), "{problems:#?}");
    assert!(only_possibly(&c.side(db, Direction::Ingress).at(&u, web), &PortSet::all()));
    assert!(c.side(web, Direction::Ingress).is_open());
    // Beside a policy that certainly applies in the same tier, its Allow is possible only.
    let objects = [
        gnp(
            "by-env",
            json!({"namespaceSelector": "env == 'prod'", "selector": "app == 'db'", "types": ["Ingress"],
            "ingress": [{"action": "Allow", "protocol": "TCP", "destination": {"ports": [5432]}}]}),
        ),
        np("shop", "db", json!({"selector": "app == 'db'", "types": ["Ingress"]})),
    ];
    let (c, _) = Calico::new(&objects, &u);
    let cell = c.side(db, Direction::Ingress).at(&u, web);
    assert!(cell.certain.is_empty());
    assert_eq!(cell.possible, tcp(5432));
}

#[test]
fn host_endpoint_policies_are_refused() {
    let u = universe();
    for field in ["doNotTrack", "preDNAT"] {
        let g = gnp(
            "host",
            json!({field: true, "applyOnForward": true, "selector": "all()", "types": ["Ingress"]}),
        );
        let (c, problems) = Calico::new(&[g], &u);
        assert!(
            problems.len() == 1
                && problems[0].contains(&format!("spec.{field}: the policy polices host endpoints")),
            "{problems:#?}"
        );
        assert!(c.side(point(&u, "shop/api"), Direction::Ingress).is_open());
    }
    // applyOnForward and performanceHints alone are harmless.
    let g = gnp(
        "fwd",
        json!({"applyOnForward": true, "performanceHints": ["AssumeNeededOnEveryNode"],
        "selector": "app == 'api'", "types": ["Ingress"]}),
    );
    let c = read_ok(&[g], &u);
    assert!(cell(&c, &u, "shop/api", Direction::Ingress, "shop/web").possible.is_empty());
}

#[test]
fn icmp_never_decides_tcp_but_not_protocol_icmp_does() {
    let u = universe();
    let rule = |r: Value| {
        np("shop", "api", json!({"selector": "app == 'api'", "types": ["Ingress"], "ingress": [r]}))
    };
    // Protocol ICMP: no TCP, UDP or SCTP port, so the tier's end denies.
    let c = read_ok(&[rule(json!({"action": "Allow", "protocol": "ICMP", "icmp": {"type": 8}}))], &u);
    assert!(cell(&c, &u, "shop/api", Direction::Ingress, "shop/web").possible.is_empty());
    // notProtocol ICMP: every TCP, UDP and SCTP port.
    let c = read_ok(&[rule(json!({"action": "Allow", "notProtocol": "ICMP"}))], &u);
    assert!(cell(&c, &u, "shop/api", Direction::Ingress, "shop/web").certain.is_all());
    // notProtocol TCP: UDP and SCTP.
    let c = read_ok(&[rule(json!({"action": "Allow", "notProtocol": "TCP"}))], &u);
    let got = cell(&c, &u, "shop/api", Direction::Ingress, "shop/web").certain;
    assert_eq!(got, PortSet::all().subtract(&PortSet::protocol(Protocol::Tcp)));
    // notICMP without protocol ICMP: refused upstream, possibly here.
    let (c, problems) = Calico::new(&[rule(json!({"action": "Allow", "notICMP": {"type": 8}}))], &u);
    assert!(problems.iter().any(|p| p.contains("notICMP without protocol ICMP")), "{problems:#?}");
    assert!(only_possibly(&cell(&c, &u, "shop/api", Direction::Ingress, "shop/web"), &PortSet::all()));
}

#[test]
fn http_matches_are_possibly() {
    let u = universe();
    let p = np(
        "shop",
        "api",
        json!({"selector": "app == 'api'", "types": ["Ingress"], "ingress": [
        {"action": "Allow", "protocol": "TCP", "http": {"methods": ["GET"]}, "destination": {"ports": [80]}}]}),
    );
    let (c, problems) = Calico::new(&[p], &u);
    assert!(problems.len() == 1 && problems[0].contains("spec.ingress[0].http"), "{problems:#?}");
    assert!(only_possibly(&cell(&c, &u, "shop/api", Direction::Ingress, "shop/web"), &tcp(80)));
}

#[test]
fn network_sets_are_picked_by_labels_as_possibly() {
    let u = universe();
    let egress = np(
        "shop",
        "web",
        json!({"selector": "app == 'web'", "types": ["Egress"], "egress": [
        {"action": "Allow", "destination": {"selector": "role == 'partners'"}}]}),
    );
    // Without network sets the selector picks pods only.
    let c = read_ok(std::slice::from_ref(&egress), &u);
    assert!(cell(&c, &u, "shop/web", Direction::Egress, "10.0.0.0").possible.is_empty());
    let set = |kind: &str, ns: Option<&str>, role: &str| {
        let mut m = json!({"name": "partners", "labels": {"role": role}});
        if let Some(ns) = ns {
            m["namespace"] = json!(ns);
        }
        json!({"apiVersion": API_VERSION, "kind": kind, "metadata": m, "spec": {"nets": ["10.0.0.0/16"]}})
    };
    // A NetworkSet of the policy's namespace with the label: its nets, possibly.
    let (c, problems) = Calico::new(&[egress.clone(), set("NetworkSet", Some("shop"), "partners")], &u);
    assert!(problems.len() == 1 && problems[0].contains("NetworkSet shop/partners"), "{problems:#?}");
    assert!(only_possibly(&cell(&c, &u, "shop/web", Direction::Egress, "10.0.0.0"), &PortSet::all()));
    assert!(cell(&c, &u, "shop/web", Direction::Egress, "10.1.0.0").possible.is_empty());
    // In another namespace, or with other labels: not picked.
    for other in [set("NetworkSet", Some("ops"), "partners"), set("NetworkSet", Some("shop"), "x")] {
        let (c, _) = Calico::new(&[egress.clone(), other], &u);
        assert!(cell(&c, &u, "shop/web", Direction::Egress, "10.0.0.0").possible.is_empty());
    }
    // A GlobalNetworkSet: a namespaced policy's selector does not reach it; `global()` does.
    let (c, _) = Calico::new(&[egress, set("GlobalNetworkSet", None, "partners")], &u);
    assert!(cell(&c, &u, "shop/web", Direction::Egress, "10.0.0.0").possible.is_empty());
    let global = np(
        "shop",
        "web",
        json!({"selector": "app == 'web'", "types": ["Egress"], "egress": [
        {"action": "Allow", "destination": {"namespaceSelector": "global()", "selector": "role == 'partners'"}}]}),
    );
    let (c, _) = Calico::new(&[global, set("GlobalNetworkSet", None, "partners")], &u);
    assert!(only_possibly(&cell(&c, &u, "shop/web", Direction::Egress, "10.0.0.0"), &PortSet::all()));
    // A Kubernetes policy's selectors never pick a network set.
    let k = knp(
        "shop",
        "web",
        json!({"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"to": [{"podSelector": {}}]}]}),
    );
    let (c, _) = Calico::new(&[k, set("NetworkSet", Some("shop"), "partners")], &u);
    assert!(cell(&c, &u, "shop/web", Direction::Egress, "10.0.0.0").possible.is_empty());
}

/// `services`: the API server's Service is the API server; a Service where Calico refuses one
/// (beside a selector, with destination ports, on the policed side) is a problem and allows
/// nothing; any other Service is open.
#[test]
fn the_kubernetes_service_is_the_api_server_and_misplaced_services_are_problems() {
    let u = universe();
    let api = json!({"name": "kubernetes", "namespace": "default"});
    let egress = |destination: Value| {
        np(
            "shop",
            "web",
            json!({"selector": "app == 'web'", "types": ["Egress"],
                                 "egress": [{"action": "Allow", "destination": destination}]}),
        )
    };
    let c = read_ok(&[egress(json!({"services": api}))], &u);
    let to_api = c.side(point(&u, "shop/web"), Direction::Egress).at(&u, u.api_server());
    assert!(to_api.certain.is_all(), "{to_api:?}");
    for other in ["shop/api", "203.0.113.7", "host"] {
        let cell = cell(&c, &u, "shop/web", Direction::Egress, other);
        assert!(cell.possible.is_empty(), "{other}: {cell:?}");
    }
    let ingress = np(
        "shop",
        "db",
        json!({"selector": "app == 'db'", "types": ["Ingress"], "ingress": [
        {"action": "Allow", "protocol": "TCP", "source": {"services": api}, "destination": {"ports": [8443]}}]}),
    );
    let c = read_ok(&[ingress], &u);
    let from_api = c.side(point(&u, "shop/db"), Direction::Ingress).at(&u, u.api_server());
    assert_eq!(from_api.certain, tcp(8443));

    for (destination, problem) in [
        (json!({"services": api, "selector": "app == 'api'"}), "services beside selector"),
        (json!({"services": api, "nets": ["10.0.0.0/8"]}), "services beside nets"),
        (json!({"services": api, "ports": [443]}), "ports beside services"),
    ] {
        let (c, problems) = Calico::new(&[egress(destination.clone())], &u);
        assert!(problems.iter().any(|p| p.contains(problem)), "{destination}: {problems:?}");
        let to_api = c.side(point(&u, "shop/web"), Direction::Egress).at(&u, u.api_server());
        assert!(to_api.possible.is_empty(), "{destination}: a rule Calico refuses allows nothing");
    }
    let own = np(
        "shop",
        "web",
        json!({"selector": "app == 'web'", "types": ["Ingress"], "ingress": [
        {"action": "Allow", "destination": {"services": api}}]}),
    );
    let (_, problems) = Calico::new(&[own], &u);
    assert!(problems.iter().any(|p| p.contains("refuses a Service there")), "{problems:?}");

    let (c, problems) = Calico::new(&[egress(json!({"services": {"name": "db", "namespace": "shop"}}))], &u);
    assert!(problems.iter().any(|p| p.contains("not modelled")), "{problems:?}");
    let maybe = cell(&c, &u, "shop/web", Direction::Egress, "shop/db");
    assert!(maybe.certain.is_empty() && !maybe.possible.is_empty(), "another Service is open: {maybe:?}");
}

#[test]
fn ip_version_keeps_to_one_family() {
    let u = universe();
    let p = np(
        "shop",
        "web",
        json!({"selector": "app == 'web'", "types": ["Egress"],
        "egress": [{"action": "Allow", "ipVersion": 6}]}),
    );
    let c = read_ok(&[p], &u);
    assert!(cell(&c, &u, "shop/web", Direction::Egress, "2001:db8:1::7").certain.is_all());
    assert!(cell(&c, &u, "shop/web", Direction::Egress, "203.0.113.7").possible.is_empty());
    // A pod may have an address of either family.
    assert!(only_possibly(&cell(&c, &u, "shop/web", Direction::Egress, "ops/tool"), &PortSet::all()));
}

#[test]
fn a_global_policy_selects_namespaces_by_their_known_labels() {
    let mut u = universe();
    for z in &mut u.zones {
        z.labels_known = true;
        if z.name == "shop" {
            z.labels.insert("env".into(), "prod".into());
        }
    }
    let g =
        gnp("prod", json!({"namespaceSelector": "env == 'prod'", "selector": "all()", "types": ["Ingress"]}));
    let c = read_ok(&[g], &u);
    for pod in ["shop/web", "shop/<unlabelled pod>"] {
        assert!(cell(&c, &u, pod, Direction::Ingress, "ops/tool").possible.is_empty(), "{pod}");
    }
    assert!(c.side(point(&u, "ops/tool"), Direction::Ingress).is_open());
    // And a rule's namespaceSelector alike, `all()` being every namespace.
    let p = np(
        "ops",
        "tool",
        json!({"selector": "all()", "types": ["Ingress"], "ingress": [
        {"action": "Allow", "source": {"namespaceSelector": "env == 'prod'"}},
        {"action": "Allow", "protocol": "UDP", "source": {"namespaceSelector": "all()"}}]}),
    );
    let c = read_ok(&[p], &u);
    assert!(cell(&c, &u, "ops/tool", Direction::Ingress, "shop/db").certain.is_all());
    assert_eq!(
        cell(&c, &u, "ops/tool", Direction::Ingress, "ops/tool").certain,
        PortSet::protocol(Protocol::Udp)
    );
    assert!(cell(&c, &u, "ops/tool", Direction::Ingress, "203.0.113.7").possible.is_empty());
}

/// The same shape, over pods named alike, gives the same verdicts in IBM's
/// network-config-analyzer 2.1.0 (`nca --connectivity`): Pass hands the connection past the
/// last tier to the profile, Log goes on, a Deny with `notPorts` leaves port 80 to the next
/// policy of the tier.
#[test]
fn pass_log_and_not_ports_in_order() {
    let u = universe();
    let objects = [
        gnp(
            "first",
            json!({"order": 10, "selector": "app == 'api'", "types": ["Ingress"], "ingress": [
            {"action": "Pass", "source": {"selector": "app == 'web'"}},
            {"action": "Log"},
            {"action": "Deny", "protocol": "TCP", "destination": {"notPorts": [80]}}]}),
        ),
        np(
            "shop",
            "second",
            json!({"order": 20, "selector": "app == 'api'", "types": ["Ingress"], "ingress": [
            {"action": "Allow", "protocol": "TCP", "source": {"namespaceSelector": "all()"}}]}),
        ),
    ];
    let c = read_ok(&objects, &u);
    assert!(cell(&c, &u, "shop/api", Direction::Ingress, "shop/web").certain.is_all());
    let tool = cell(&c, &u, "shop/api", Direction::Ingress, "ops/tool");
    assert!(tool.certain == tcp(80) && tool.possible == tcp(80), "{tool:?}");
    assert!(cell(&c, &u, "shop/api", Direction::Ingress, "203.0.113.7").possible.is_empty());
}

#[test]
fn ties_of_order_that_releases_break_differently_are_reported() {
    let u = universe();
    let deny = gnp(
        "deny-web",
        json!({"selector": "app == 'api'", "types": ["Ingress"],
        "ingress": [{"action": "Deny", "source": {"selector": "app == 'web'"}}]}),
    );
    let allow = np(
        "shop",
        "allow-web",
        json!({"selector": "app == 'api'", "types": ["Ingress"],
        "ingress": [{"action": "Allow", "source": {"selector": "app == 'web'"}}]}),
    );
    // Up to v3.31 `deny-web` < `shop/allow-web`; from v3.32 `allow-web/shop/…` < `deny-web//…`.
    let (c, problems) = Calico::new(&[deny.clone(), allow.clone()], &u);
    assert!(
        problems.len() == 1
            && problems[0].contains("GlobalNetworkPolicy deny-web")
            && problems[0].contains("NetworkPolicy shop/allow-web")
            && problems[0].contains("share order none"),
        "{problems:#?}"
    );
    assert!(cell(&c, &u, "shop/api", Direction::Ingress, "shop/web").possible.is_empty());
    // Orders apart, or policies of one namespace only: one order in every release.
    let mut later = allow.clone();
    later["spec"]["order"] = json!(5);
    let other = np("shop", "other", json!({"selector": "app == 'api'", "types": ["Ingress"]}));
    for objects in [vec![deny.clone(), later], vec![allow, other]] {
        let (_, problems) = Calico::new(&objects, &u);
        assert!(problems.is_empty(), "{problems:#?}");
    }
}
