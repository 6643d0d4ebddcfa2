//! The shape of the largest policy sets reported, shared by the `world` and `import` benchmarks:
//! per namespace, 100 Kubernetes NetworkPolicies and 100 pods.

use std::fmt::Write as _;

pub const POLICIES_PER_NAMESPACE: usize = 100;
pub const PODS_PER_NAMESPACE: usize = 100;
pub const APPS: usize = 20;
pub const TEAMS: usize = 50;

/// The namespaces and their pods: each namespace has a team and an environment label, each pod
/// an app (of 20), a tier (of 3) and a named port.
pub fn inventory(namespaces: usize) -> String {
    let mut out = String::with_capacity(namespaces * PODS_PER_NAMESPACE * 260);
    for n in 0..namespaces {
        let env = if n % 2 == 0 { "prod" } else { "dev" };
        let _ = write!(
            out,
            "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns-{n}\n  labels:\n    team: t{}\n    env: {env}\n",
            n % TEAMS
        );
        for p in 0..PODS_PER_NAMESPACE {
            let _ = write!(
                out,
                "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p-{p}\n  namespace: ns-{n}\n  labels:\n    app: a{}\n    tier: t{}\nspec:\n  containers:\n  - name: c\n    ports:\n    - name: http\n      containerPort: {}\n",
                p % APPS,
                p % 3,
                8000 + p % APPS
            );
        }
    }
    out
}

/// 100 policies per namespace: a default deny, and per app ingress policies (from another app
/// of the namespace, from the namespaces of a team, from an app of the next namespace, from a
/// network) on a port each, and egress to the namespace on the named port `http`. Most rules
/// stay within a namespace or name one, as the policy sets reported do.
pub fn policies(namespaces: usize) -> String {
    let mut out = String::with_capacity(namespaces * POLICIES_PER_NAMESPACE * 520);
    for n in 0..namespaces {
        let _ = write!(
            out,
            "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: default-deny\n  namespace: ns-{n}\nspec:\n  podSelector: {{}}\n  policyTypes: [Ingress, Egress]\n"
        );
        for k in 1..POLICIES_PER_NAMESPACE {
            let app = k % APPS;
            let from = (k + 1) % APPS;
            let port = 8000 + app;
            let peer = match k % 4 {
                0 => format!(
                    "    - namespaceSelector:\n        matchLabels:\n          team: t{}\n",
                    (n + k) % TEAMS
                ),
                1 => format!(
                    "    - namespaceSelector:\n        matchLabels:\n          kubernetes.io/metadata.name: ns-{}\n      podSelector:\n        matchLabels:\n          app: a{from}\n",
                    (n + 1) % namespaces
                ),
                2 => format!("    - ipBlock:\n        cidr: 10.{}.0.0/16\n        except: [10.{}.1.0/24]\n", k, k),
                _ => format!("    - podSelector:\n        matchLabels:\n          app: a{from}\n"),
            };
            let _ = write!(
                out,
                "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: p{k}\n  namespace: ns-{n}\nspec:\n  podSelector:\n    matchLabels:\n      app: a{app}\n  ingress:\n  - from:\n{peer}    ports:\n    - port: {port}\n  egress:\n  - to:\n    - podSelector: {{}}\n    ports:\n    - port: http\n"
            );
        }
    }
    out
}

/// The peak resident memory of this process, in MB.
pub fn peak_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    Some(line.split_whitespace().nth(1)?.parse::<f64>().ok()? / 1024.0)
}
