//! `verify`, `why` and `matrix` over policy manifests netpol did not write and an inventory of
//! namespaces and pods, through the real binary (examples/cluster holds one intent written as
//! Kubernetes, Cilium and Calico policies).

mod common;

use common::{netpol, root, text, write};

const DIALECTS: [&str; 3] = ["kubernetes", "cilium", "calico"];

fn cluster(args: &[&str]) -> std::process::Output {
    netpol(args, &root().join("examples/cluster"))
}

#[test]
fn the_example_expectations_hold_on_every_dialect() {
    for d in DIALECTS {
        let out = cluster(&["verify", "expects.netpol", d, "--inventory", "inventory.yaml"]);
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert_eq!(out.status.code(), Some(0), "{d}: {stdout}{stderr}");
        assert!(stdout.contains(&format!("as {d} enforces them")), "{d}: {stdout}");
        assert!(
            stdout.contains("(6 inventory pods)") && stdout.contains("expect: 5 of 5 hold"),
            "{d}: {stdout}"
        );
        assert_eq!(stderr, "", "{d}");
        let out = cluster(&["verify", "expects.netpol", d, "--inventory", "inventory.yaml", "--json"]);
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        assert_eq!(report["cni"], d);
        assert_eq!((report["expects"].as_u64(), report["expects_failed"].as_u64()), (Some(5), Some(0)));
    }
}

#[test]
fn the_three_dialects_allow_the_same_connections_pod_by_pod() {
    let csv = |d: &str| {
        let out = cluster(&["matrix", d, "--inventory", "inventory.yaml", "--as", "csv"]);
        assert_eq!(out.status.code(), Some(0), "{d}: {}", text(&out.stderr));
        text(&out.stdout)
    };
    let kubernetes = csv("kubernetes");
    for d in ["cilium", "calico"] {
        assert_eq!(csv(d), kubernetes, "{d} reads its policies differently from the Kubernetes ones");
    }
    let lines: Vec<&str> = kubernetes.lines().collect();
    assert_eq!(lines[0], "from,to,certain,possible");
    // Each inventory pod is listed, even where two share a point; a template stands for its
    // pods only where none are listed.
    for line in [
        "shop/api(Deployment),shop/db-0,tcp 5432,tcp 5432",
        "shop/api(Deployment),shop/db-1,tcp 5432,tcp 5432",
        "shop/web(Deployment),shop/api(Deployment),tcp 8080,tcp 8080",
        "shop/api(Deployment),payments/gateway(Deployment),tcp 443,tcp 443",
        "monitoring/prometheus-0,shop/db-1,tcp 9187,tcp 9187",
    ] {
        assert!(lines.contains(&line), "missing {line}\n{kubernetes}");
    }
    assert!(!kubernetes.contains("db(StatefulSet)"), "the pods stand for their StatefulSet");
    for absent in
        ["shop/web(Deployment),shop/db-0,", "shop/web(Deployment),payments/gateway", "shop/db-0,shop/db-1,"]
    {
        assert!(!kubernetes.contains(absent), "{absent} should not be allowed\n{kubernetes}");
    }
    let mut sorted = lines[1..].to_vec();
    sorted.sort();
    assert_eq!(sorted, lines[1..], "lines are sorted, so tools can compare them");
}

#[test]
fn a_failed_expectation_names_the_manifest_rule_that_decides() {
    let dir = tempfile::tempdir().expect("tmp");
    let policies =
        std::fs::read_to_string(root().join("examples/cluster/kubernetes/policies.yaml")).expect("policies");
    write(dir.path(), "policies.yaml", &policies);
    std::fs::copy(root().join("examples/cluster/inventory.yaml"), dir.path().join("inventory.yaml"))
        .expect("copy");
    write(
        dir.path(),
        "expects.netpol",
        "namespace shop\nworkload web { app: web }\nworkload db { app: db }\nexpect web can reach db on tcp 5432\n",
    );
    let out =
        netpol(&["verify", "expects.netpol", "policies.yaml", "--inventory", "inventory.yaml"], dir.path());
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("error[E0401]") && stderr.contains("expects.netpol:4:1"), "{stderr}");
    // The manifest line that isolates the db pods, with the object and field named.
    let isolating =
        policies.lines().position(|l| l.contains("policyTypes: [Ingress]")).expect("default deny") + 1;
    assert!(stderr.contains(&format!("policies.yaml:{isolating}:")), "{stderr}");
    assert!(stderr.contains("NetworkPolicy shop/default-deny spec.policyTypes"), "{stderr}");
    assert!(text(&out.stdout).contains("expect: 0 of 1 hold"));
}

#[test]
fn why_answers_about_inventory_pods_and_any_address() {
    let out = cluster(&[
        "why",
        "kubernetes",
        "shop/api",
        "shop/db-1",
        "on",
        "tcp",
        "5432",
        "--inventory",
        "inventory.yaml",
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(stdout.contains("kubernetes reading of the manifests: allowed"), "{stdout}");
    assert!(stdout.contains("allows tcp 5432: NetworkPolicy shop/db spec.ingress[0]"), "{stdout}");
    let out = cluster(&["why", "kubernetes", "shop/web", "shop/db-0", "--inventory", "inventory.yaml"]);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("kubernetes reading of the manifests: not allowed"), "{stdout}");
    assert!(stdout.contains("isolated by NetworkPolicy shop/db"), "{stdout}");
    // An address no policy names is a point of its own.
    let out = cluster(&[
        "why",
        "cilium",
        "198.51.100.20",
        "shop/web",
        "on",
        "tcp",
        "80",
        "--inventory",
        "inventory.yaml",
    ]);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("cilium reading of the manifests: allowed"), "{stdout}{}", text(&out.stderr));
    let out = cluster(&["why", "calico", "shop/nothing", "shop/web", "--inventory", "inventory.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("`shop/nothing` is no pod of the inventory"));
}

#[test]
fn why_over_manifests_prints_json_and_exits_with_the_answer() {
    let why = |args: &[&str]| {
        let mut all = vec!["why", "kubernetes"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--inventory", "inventory.yaml"]);
        cluster(&all)
    };
    let out = why(&["shop/web", "shop/db-0", "--format", "json", "--exit-status"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json on stdout");
    assert_eq!(r["answer"], "not-allowed");
    let v = &r["questions"][0]["connections"][0]["verdicts"][0];
    assert_eq!(v["semantics"], "kubernetes reading of the manifests");
    let isolates = v["rules"].as_array().expect("rules").iter().find(|r| r["action"] == "isolates");
    assert!(
        isolates.is_some_and(|r| r["object"].as_str().is_some_and(|o| o.starts_with("NetworkPolicy shop/"))),
        "{v}"
    );
    let out = why(&["shop/api", "shop/db-1", "on", "tcp", "5432", "--exit-status"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = why(&["shop/api", "shop/db-1", "on", "tcp", "5432"]);
    assert_eq!(out.status.code(), Some(0));
    let out = why(&["shop/web", "shop/db-0"]);
    assert_eq!(out.status.code(), Some(0), "without --exit-status the answer is no failure");
    let out = why(&["shop/nothing", "shop/web", "--exit-status"]);
    assert_eq!(out.status.code(), Some(2), "a bad command line stays 2");
}

#[test]
fn stdin_lists_without_kinds_and_default_namespaces() {
    // A PodList as the API returns it: items without kind or apiVersion.
    let pods = r#"{"kind": "PodList", "apiVersion": "v1", "items": [
        {"metadata": {"name": "a", "namespace": "shop", "labels": {"app": "a"}}},
        {"metadata": {"name": "b", "namespace": "shop", "labels": {"app": "b"}}}]}"#;
    let dir = tempfile::tempdir().expect("tmp");
    write(
        dir.path(),
        "policy.yaml",
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: b\nspec:\n  podSelector:\n    matchLabels: {app: b}\n  policyTypes: [Ingress]\n",
    );
    let out = common::netpol_with_stdin(
        &["matrix", "policy.yaml", "--inventory", "-", "--namespace", "shop", "--as", "csv"],
        dir.path(),
        pods,
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stdout.contains("shop/b,shop/a,all ports"), "{stdout}");
    assert!(!stdout.contains("shop/a,shop/b"), "the policy without a namespace isolates shop/b\n{stdout}");
    assert!(stderr.contains("note[N0603]") && stderr.contains("read in `shop`"), "{stderr}");
    assert!(stderr.contains("0 errors, 0 warnings"), "notes are neither: {stderr}");
}

#[test]
fn policies_of_two_cnis_are_refused() {
    let out = cluster(&["matrix", "cilium", "calico", "--inventory", "inventory.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("error[E0606]"), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "");
    let out = cluster(&["matrix", "calico", "--cni", "cilium", "--inventory", "inventory.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("Calico policies in an input read as Cilium"),
        "{}",
        text(&out.stderr)
    );
    // Kubernetes NetworkPolicies alone can be read as any CNI enforces them.
    let out = cluster(&[
        "verify",
        "expects.netpol",
        "kubernetes",
        "--cni",
        "calico",
        "--inventory",
        "inventory.yaml",
    ]);
    assert!(text(&out.stdout).contains("as calico enforces them"), "{}", text(&out.stderr));
}

#[test]
fn unreadable_documents_are_errors_and_problems_are_warnings() {
    let dir = tempfile::tempdir().expect("tmp");
    let good = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: a, namespace: shop}\nspec:\n  podSelector: {}\n";
    write(
        dir.path(),
        "p.yaml",
        &format!("{good}---\nkind: Pod\nmetadata:\n  name: x\n  labels: {{public: on}}\n"),
    );
    let out = netpol(&["matrix", "p.yaml"], dir.path());
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("error[E0601]") && stderr.contains("p.yaml:10:"), "{stderr}");
    assert_eq!(text(&out.stdout), "", "no answer from a half-read input");
    let broken = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: a, namespace: shop}\nspec:\n  podSelector: {}\n  ingress:\n  - ports:\n    - port: 90\n      endPort: 80\n";
    write(dir.path(), "q.yaml", broken);
    let out = netpol(&["matrix", "q.yaml", "--as", "csv"], dir.path());
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("warning[W0605]") && stderr.contains("q.yaml:8:"), "{stderr}");
    // The broken rule possibly allows anything into the namespace: possible, never certain.
    let stdout = text(&out.stdout);
    assert!(stdout.lines().any(|l| l.ends_with(",shop/<unlabelled pod>,,all ports")), "{stdout}");
    let out = netpol(&["matrix", "q.yaml", "--deny-warnings"], dir.path());
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn without_an_inventory_the_pods_come_from_the_policies_and_the_program() {
    // Without an inventory, the `team: shop` label of the namespace shop is an open fact: the
    // gateway's rule possibly allows `api`, which proves nothing.
    let out = cluster(&["verify", "expects.netpol", "kubernetes"]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("expect: 4 of 5 hold"), "{stdout}");
    assert!(
        stderr.contains("expects.netpol:15:1") && stderr.contains("only if a fact left open holds"),
        "{stderr}"
    );
    let out = cluster(&["matrix", "kubernetes", "--as", "csv"]);
    let stdout = text(&out.stdout);
    for pod in [
        "shop/<pod app=db>",
        "shop/<unlabelled pod>",
        "payments/<pod app=gateway>",
        "monitoring/<unlabelled pod>",
    ] {
        assert!(stdout.contains(pod), "{pod} missing\n{stdout}");
    }
    assert!(stdout.contains("shop/<pod app=api>,shop/<pod app=db>,tcp 5432,tcp 5432"), "{stdout}");
}

#[test]
fn an_expectation_about_no_pod_is_an_error() {
    let dir = tempfile::tempdir().expect("tmp");
    write(
        dir.path(),
        "inv.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web-0, namespace: shop, labels: {app: web}}\n",
    );
    write(
        dir.path(),
        "e.netpol",
        "namespace shop\nworkload web { app: web }\nworkload db { app: database }\nexpect web cannot reach db\n",
    );
    let out = netpol(&["verify", "e.netpol", "--inventory", "inv.yaml"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("error[E0607]"), "{}", text(&out.stderr));
}

#[test]
fn the_readme_example_is_what_the_binary_prints() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README");
    let section = &readme[readme.find("## Checking policies you already have").expect("section")..];
    let start = section.find("```console\n").expect("console block") + "```console\n".len();
    let block = &section[start..start + section[start..].find("```").expect("closed")];
    let mut commands = Vec::new();
    for line in block.lines() {
        match line.strip_prefix("$ netpol ") {
            Some(cmd) => commands.push((cmd.to_string(), String::new())),
            None => {
                let last = commands.last_mut().expect("output after a command");
                last.1.push_str(line);
                last.1.push('\n');
            }
        }
    }
    assert_eq!(commands.len(), 3);
    for (cmd, want) in commands {
        let (args, filter) = match cmd.split_once(" | grep ") {
            Some((a, f)) => (a.to_string(), Some(f.trim_matches('\'').trim_start_matches('^').to_string())),
            None => (cmd.clone(), None),
        };
        let args: Vec<&str> = args.split_whitespace().collect();
        let out = netpol(&args, &root());
        let mut got = text(&out.stdout);
        if let Some(prefix) = filter {
            got = got.lines().filter(|l| l.starts_with(&prefix)).map(|l| format!("{l}\n")).collect();
        }
        assert_eq!(got, want, "`netpol {cmd}` prints something else now; update the README");
    }
}

#[test]
fn check_reports_what_the_policies_leave_uncovered() {
    // The Kubernetes policies isolate every pod for ingress but prometheus, and none for egress.
    let out = cluster(&["check", "kubernetes", "--inventory", "inventory.yaml", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json on stdout");
    let found: Vec<(String, String)> = report["diagnostics"]
        .as_array()
        .expect("list")
        .iter()
        .map(|d| {
            (d["code"].as_str().unwrap_or("").to_string(), d["message"].as_str().unwrap_or("").to_string())
        })
        .collect();
    let egress = found.iter().filter(|(c, m)| c == "W0611" && m.contains("for egress")).count();
    let ingress: Vec<&String> =
        found.iter().filter(|(c, m)| c == "W0611" && m.contains("for ingress")).map(|x| &x.1).collect();
    assert_eq!(egress, 5, "{found:#?}");
    assert_eq!(ingress.len(), 1, "{found:#?}");
    assert!(ingress[0].contains("monitoring/prometheus-0"));
    assert!(found.iter().all(|(c, _)| c == "W0611"), "{found:#?}");
    let out = cluster(&["check", "kubernetes", "--inventory", "inventory.yaml", "--deny-warnings"]);
    assert_eq!(out.status.code(), Some(1));
    // A policy for pods that are gone, a peer that names none, a port no container has.
    let dir = tempfile::tempdir().expect("tmp");
    write(
        dir.path(),
        "p.yaml",
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: old, namespace: shop}\nspec:\n  podSelector:\n    matchLabels: {app: gone}\n---\n\
         apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: all, namespace: shop}\nspec:\n  podSelector: {}\n  policyTypes: [Ingress, Egress]\n  ingress:\n  - from:\n    - podSelector:\n        matchLabels: {app: typo}\n  - ports:\n    - port: metrics\n",
    );
    write(
        dir.path(),
        "inv.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: shop, labels: {app: a}}\nspec:\n  containers:\n  - name: c\n    ports:\n    - {name: http, containerPort: 80}\n",
    );
    let out = netpol(&["check", "p.yaml", "--inventory", "inv.yaml"], dir.path());
    let stderr = text(&out.stderr);
    for (code, at) in [("W0610", "p.yaml:6:"), ("W0615", "p.yaml:15:"), ("W0612", "p.yaml:18:")] {
        assert!(stderr.contains(&format!("warning[{code}]")), "{code}: {stderr}");
        assert!(stderr.contains(at), "{code} at {at}: {stderr}");
    }
    assert!(!stderr.contains("W0611"), "{stderr}");
    // The program's own workloads over the same pods.
    write(dir.path(), "w.netpol", "namespace shop\ndefault deny all\nworkload a { app: a }\nworkload b { app: b }\na accepts tcp 80 from b\nb connects to a on tcp 80\na connects to kube-dns\nb connects to kube-dns\n");
    let out = netpol(&["check", "w.netpol", "--inventory", "inv.yaml"], dir.path());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("warning[W0610]: workload `b` picks no pod"), "{stderr}");
    assert!(!stderr.contains("W0611"), "the program's default deny isolates the pod: {stderr}");
}

#[test]
fn named_ports_resolve_against_the_inventory_per_cni() {
    let dir = tempfile::tempdir().expect("tmp");
    let pod = |name: &str, app: &str, port: Option<u16>| {
        let ports =
            port.map_or(String::new(), |p| format!("    ports:\n    - {{name: http, containerPort: {p}}}\n"));
        format!("---\napiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: shop, labels: {{app: {app}}}}}\nspec:\n  containers:\n  - name: c\n{ports}")
    };
    let inventory =
        [pod("web", "web", None), pod("api", "api", Some(8080)), pod("other", "other", Some(9090))].concat();
    write(dir.path(), "inv.yaml", &inventory);
    let policy = |name: &str, selector: &str, body: &str| {
        format!("---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: {name}, namespace: shop}}\nspec:\n  podSelector:\n    matchLabels: {{app: {selector}}}\n{body}")
    };
    // The api accepts its port named `http`; web may send to tcp 8080 only.
    let numeric = [
        policy("api", "api", "  ingress:\n  - ports:\n    - port: http\n"),
        policy("web", "web", "  policyTypes: [Egress]\n  egress:\n  - ports:\n    - port: 8080\n"),
    ]
    .concat();
    write(dir.path(), "numeric.yaml", &numeric);
    let line = |out: &std::process::Output, from: &str, to: &str| -> Option<String> {
        text(&out.stdout).lines().find(|l| l.starts_with(&format!("{from},{to},"))).map(str::to_string)
    };
    let out = netpol(&["matrix", "numeric.yaml", "--inventory", "inv.yaml", "--as", "csv"], dir.path());
    assert_eq!(
        line(&out, "shop/web", "shop/api").as_deref(),
        Some("shop/web,shop/api,tcp 8080,tcp 8080"),
        "{}",
        text(&out.stdout)
    );
    // `other` is not isolated: web's 8080 reaches it, whatever it names `http`.
    assert_eq!(
        line(&out, "shop/web", "shop/other").as_deref(),
        Some("shop/web,shop/other,tcp 8080,tcp 8080")
    );
    // Egress by name towards pods that number it differently: Kubernetes resolves it on each
    // destination, which netpol answers as possibly; Cilium looks names up across the
    // cluster, which its reader answers as possibly any port. Neither is certain.
    let by_name = [
        policy("api", "api", "  ingress:\n  - ports:\n    - port: http\n"),
        policy("web", "web", "  policyTypes: [Egress]\n  egress:\n  - ports:\n    - port: http\n"),
    ]
    .concat();
    write(dir.path(), "by-name.yaml", &by_name);
    let out = netpol(&["matrix", "by-name.yaml", "--inventory", "inv.yaml", "--as", "csv"], dir.path());
    assert_eq!(
        line(&out, "shop/web", "shop/api").as_deref(),
        Some("shop/web,shop/api,,tcp 8080"),
        "{}",
        text(&out.stdout)
    );
    let out = netpol(
        &["matrix", "by-name.yaml", "--inventory", "inv.yaml", "--cni", "cilium", "--as", "csv"],
        dir.path(),
    );
    assert_eq!(
        line(&out, "shop/web", "shop/api").as_deref(),
        Some("shop/web,shop/api,,tcp 8080"),
        "{}",
        text(&out.stderr)
    );
}

/// ClusterNetworkPolicies (`policy.networking.k8s.io/v1alpha2`) beside NetworkPolicies: the
/// Admin tier before them, the Baseline tier after, read with the Kubernetes dialect.
#[test]
fn cluster_network_policies_are_read_in_their_tiers() {
    let dir = tempfile::tempdir().expect("tmp");
    write(
        dir.path(),
        "inventory.yaml",
        "apiVersion: v1\nkind: List\nitems:\n\
         - {apiVersion: v1, kind: Namespace, metadata: {name: shop}}\n\
         - {apiVersion: v1, kind: Namespace, metadata: {name: ops}}\n\
         - {apiVersion: v1, kind: Pod, metadata: {name: web, namespace: shop, labels: {app: web}}}\n\
         - {apiVersion: v1, kind: Pod, metadata: {name: api, namespace: shop, labels: {app: api}}}\n\
         - {apiVersion: v1, kind: Pod, metadata: {name: tool, namespace: ops, labels: {app: tool}}}\n",
    );
    // The NetworkPolicy opens api to every namespace; the Admin tier keeps ops out first; the
    // Baseline tier denies what no NetworkPolicy decides. The policies have no namespace.
    let policies = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: api\n  namespace: shop\n\
        spec:\n  podSelector: {matchLabels: {app: api}}\n  ingress:\n  - from:\n    - namespaceSelector: {}\n---\n\
        apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata:\n  name: no-ops\n\
        spec:\n  tier: Admin\n  priority: 10\n  subject:\n    namespaces:\n      matchLabels: {kubernetes.io/metadata.name: shop}\n\
        \x20 ingress:\n  - action: Deny\n    from:\n    - namespaces:\n        matchLabels: {kubernetes.io/metadata.name: ops}\n---\n\
        apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata:\n  name: baseline\n\
        spec:\n  tier: Baseline\n  priority: 10\n  subject:\n    namespaces: {}\n  ingress:\n  - action: Deny\n    from:\n    - namespaces: {}\n";
    write(dir.path(), "policies.yaml", policies);
    write(
        dir.path(),
        "expects.netpol",
        "namespace shop\nworkload web { app: web }\nworkload api { app: api }\n\
         namespace ops\nworkload tool { app: tool }\n\
         expect shop/web can reach shop/api on tcp 8080\n\
         expect ops/tool cannot reach shop/api on tcp 8080\n\
         expect shop/api cannot reach shop/web on tcp 80\n\
         expect shop/web cannot reach ops/tool on tcp 80\n",
    );
    let run = |args: &[&str]| {
        let out = netpol(args, dir.path());
        (out.status.code(), text(&out.stdout), text(&out.stderr))
    };
    let (code, stdout, stderr) =
        run(&["verify", "expects.netpol", "policies.yaml", "--inventory", "inventory.yaml"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("as kubernetes enforces them") && stdout.contains("expect: 4 of 4 hold"),
        "{stdout}"
    );
    // Cluster-scoped: no namespace is made up for them, and nothing is left unread.
    assert_eq!(stderr, "", "{stderr}");
    let (_, stdout, _) = run(&[
        "why",
        "policies.yaml",
        "ops/tool",
        "shop/api",
        "on",
        "tcp",
        "8080",
        "--inventory",
        "inventory.yaml",
    ]);
    assert!(stdout.contains("not allowed"), "{stdout}");
    assert!(stdout.contains("denies tcp 8080: ClusterNetworkPolicy no-ops spec.ingress[0]"), "{stdout}");
    let (_, stdout, _) = run(&[
        "why",
        "policies.yaml",
        "shop/api",
        "shop/web",
        "on",
        "tcp",
        "80",
        "--inventory",
        "inventory.yaml",
    ]);
    assert!(stdout.contains("denies tcp 80: ClusterNetworkPolicy baseline spec.ingress[0]"), "{stdout}");
    // Read as Calico enforces it, a ClusterNetworkPolicy is left out, and said to be.
    let (code, _, stderr) = run(&[
        "verify",
        "expects.netpol",
        "policies.yaml",
        "--cni",
        "calico",
        "--inventory",
        "inventory.yaml",
    ]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("warning[W0602]: ClusterNetworkPolicy no-ops is read with the Kubernetes"),
        "{stderr}"
    );
    // A failed expectation names the rule that denies, not the end of the Admin tier (which
    // passes what it leaves).
    write(
        dir.path(),
        "wrong.netpol",
        "namespace shop\nworkload api { app: api }\nnamespace ops\nworkload tool { app: tool }\n\
         expect ops/tool can reach shop/api on tcp 8080\n",
    );
    let (code, _, stderr) =
        run(&["verify", "wrong.netpol", "policies.yaml", "--inventory", "inventory.yaml"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "ClusterNetworkPolicy no-ops spec.ingress[0]: the ingress of `shop/api` denies it here"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("ends in deny"), "{stderr}");
    // The older AdminNetworkPolicy is still a kind netpol does not read.
    write(
        dir.path(),
        "anp.yaml",
        "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata:\n  name: a\n\
         spec:\n  priority: 1\n  subject:\n    namespaces: {}\n",
    );
    let (_, _, stderr) =
        run(&["verify", "expects.netpol", "policies.yaml", "anp.yaml", "--inventory", "inventory.yaml"]);
    assert!(stderr.contains("warning[W0602]: AdminNetworkPolicy a is a kind of policy"), "{stderr}");
}
