"""Random but valid clusters and policies for the differential test against NCA.

`generate(seed)` returns a `Case`: an inventory (Namespaces with labels, bare Pods, and
Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs, CronJobs and ReplicationControllers,
with labels and container ports) and policy documents of one family:

- `k8s`: `networking.k8s.io/v1` NetworkPolicies: podSelector (matchLabels, matchExpressions),
  peers by podSelector, namespaceSelector, both, or ipBlock with except; ports with or without
  protocol, port and endPort; policyTypes given or left to inference; rules with no peers, an
  empty peer list, no ports, an empty port list; a direction with an empty rule list.
- `mixed`: Calico policies and Kubernetes
  NetworkPolicies together, as a Calico cluster enforces them (the Kubernetes ones in the
  default tier at order 1000).
- `calico`: `projectcalico.org/v3` NetworkPolicy and GlobalNetworkPolicy in the default tier:
  selector expressions, rule actions Allow / Deny / Pass, `order`, `types` given or inferred,
  rule `protocol` / `notProtocol`, `selector` / `notSelector` / `namespaceSelector`, `nets` /
  `notNets`, `ports` / `notPorts`.

Everything is drawn from `random.Random(seed)`, so a seed names one case for good.

What is not generated, and why:
- named ports: netpol resolves port names against the inventory's containers only once the
  inventory reader does (the issue's named-port part); until then ports are numbers only;
- `Exists` / `DoesNotExist` in a peer's `podSelector` beside a `namespaceSelector`: NCA 2.1.0
  evaluates those requirements only in the policy's own namespace
  (`K8sPolicyYamlParser.parse_label_selector_requirement` calls
  `get_peers_with_key(self.namespace, ...)`), which is its bug, so they appear only where the
  peer's pods are in the policy's namespace anyway;
- Calico `tier`, rule `metadata`: NCA rejects them; a policy outside the default tier cannot be
  written for it. `Log` rules, ICMP, source ports, service accounts, `global()`: not compared.
- Calico policies with equal `order` (ties are broken by name; the test keeps orders distinct
  so that it does not depend on how either tool spells the name it sorts on);
- IPv6: NCA prints IPv6 ranges only on request; netpol's IPv6 documentation address is not
  compared.
"""
import random
from dataclasses import dataclass, field

NAMESPACES = ["alpha", "beta", "gamma", "delta"]
NS_LABELS = {"team": ["red", "blue"], "env": ["prod", "dev"]}
# What namespace selectors read: the labels above, and the name label the API server sets on
# every namespace (NCA sets it too, `K8sNamespace`). Not Calico's own `projectcalico.org/name`,
# which NCA does not know.
NS_SELECTOR_LABELS = {**NS_LABELS, "kubernetes.io/metadata.name": NAMESPACES}
POD_LABELS = {"app": ["web", "api", "db"], "role": ["front", "back"], "env": ["prod", "dev"]}
PORTS = [53, 80, 443, 5432, 8080]
PROTOCOLS = ["TCP", "UDP", "SCTP"]
# The workloads whose pod templates the inventory holds (besides bare Pods).
WORKLOADS = ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob",
             "ReplicationController"]
# Networks with their possible exceptions.
NETS = [
    ("10.0.0.0/8", ["10.1.0.0/16", "10.2.3.0/24"]),
    ("192.168.0.0/16", ["192.168.1.0/24"]),
    ("0.0.0.0/0", ["10.0.0.0/8", "172.16.0.0/12"]),
    ("172.16.0.0/12", []),
    ("203.0.113.0/24", []),
]


@dataclass
class Case:
    seed: int
    family: str
    inventory: list = field(default_factory=list)
    policies: list = field(default_factory=list)
    # Inventory pods as netpol names them: `ns/name` (Pod), `ns/name(Deployment)`.
    pods: list = field(default_factory=list)
    # Whether some rule names an address block (ipBlock, nets, notNets): whether a pod's own
    # address lies in one is an open fact for netpol, so its pod-to-pod answers may be wider.
    has_nets: bool = False


# The families a seed is drawn from, in turn (seed modulo their number).
FAMILIES = ("k8s", "calico", "mixed")


def generate(seed, families=FAMILIES):
    r = random.Random(seed)
    family = families[seed % len(families)]
    case = Case(seed=seed, family=family)
    namespaces = sorted(r.sample(NAMESPACES, r.randint(2, 4)))
    for ns in namespaces:
        labels = {k: r.choice(v) for k, v in NS_LABELS.items() if r.random() < 0.6}
        meta = {"name": ns}
        if labels:
            meta["labels"] = labels
        case.inventory.append({"apiVersion": "v1", "kind": "Namespace", "metadata": meta})
    for ns in namespaces:
        for i in range(r.randint(1, 3)):
            labels = {k: r.choice(v) for k, v in POD_LABELS.items() if r.random() < 0.6}
            containers = [{
                "name": "main",
                "image": "registry.example/app:1",
                "ports": [{"containerPort": p, "protocol": r.choice(PROTOCOLS)}
                          for p in r.sample(PORTS, r.randint(0, 2))],
            }]
            if not containers[0]["ports"]:
                del containers[0]["ports"]
            if labels and r.random() < 0.5:
                kind = r.choices(WORKLOADS, weights=[4, 1, 1, 1, 1, 1, 1])[0]
                name = "deploy{}".format(i) if kind == "Deployment" else f"{kind.lower()}{i}"
                sel_keys = r.sample(sorted(labels), r.randint(1, len(labels)))
                case.inventory.append(workload(r, kind, name, ns, labels, sel_keys, containers))
                case.pods.append(f"{ns}/{name}({kind})")
            else:
                name = f"pod{i}"
                meta = {"name": name, "namespace": ns}
                if labels:
                    meta["labels"] = labels
                case.inventory.append({"apiVersion": "v1", "kind": "Pod", "metadata": meta,
                                       "spec": {"containers": containers}})
                case.pods.append(f"{ns}/{name}")
    nets = r.random() < 0.4
    if family == "k8s":
        for i in range(r.randint(2, 5)):
            case.policies.append(k8s_policy(r, f"np{i}", r.choice(namespaces), nets))
    else:
        # Calico orders a Kubernetes NetworkPolicy at 1000 in the default tier
        # (`k8s/conversion`: "policy order of 1000"), so mixed seeds draw orders around it.
        orders = r.sample(range(1, 50) if family == "calico" else range(900, 1100, 7), 5)
        for i in range(r.randint(1, 4)):
            order = orders[i] if i > 0 or r.random() < 0.7 else None
            if r.random() < 0.6:
                case.policies.append(calico_policy(r, f"cnp{i}", r.choice(namespaces), order, nets))
            else:
                case.policies.append(calico_policy(r, f"gnp{i}", None, order, nets))
        if family == "mixed":
            for i in range(r.randint(1, 2)):
                case.policies.append(k8s_policy(r, f"np{i}", r.choice(namespaces), nets))
    case.has_nets = nets and mentions_nets(case.policies)
    return case


def workload(r, kind, name, ns, labels, sel_keys, containers):
    """A workload whose pod template has `labels`. Never scaled to zero: NCA makes no pod of a
    workload without replicas (`TopologyObjectsFinder`), while netpol's answers still name it."""
    template = {"metadata": {"labels": labels}, "spec": {"containers": containers}}
    selector = {"matchLabels": {k: labels[k] for k in sel_keys}}
    spec = {"selector": selector, "template": template}
    api = "apps/v1"
    if kind in ("Deployment", "StatefulSet", "ReplicaSet") and r.random() < 0.3:
        spec["replicas"] = r.randint(1, 3)
    if kind == "StatefulSet":
        spec["serviceName"] = name
    elif kind == "ReplicationController":
        api, spec["selector"] = "v1", selector["matchLabels"]
    elif kind == "Job":
        # The API server generates a Job's selector.
        api, spec = "batch/v1", {"template": {**template, "spec": {**template["spec"], "restartPolicy": "Never"}}}
    elif kind == "CronJob":
        job = {"template": {**template, "spec": {**template["spec"], "restartPolicy": "OnFailure"}}}
        api, spec = "batch/v1", {"schedule": "*/5 * * * *", "jobTemplate": {"spec": job}}
    return {"apiVersion": api, "kind": kind, "metadata": {"name": name, "namespace": ns}, "spec": spec}


def mentions_nets(value):
    if isinstance(value, dict):
        return any(k in ("ipBlock", "nets", "notNets") or mentions_nets(v) for k, v in value.items())
    if isinstance(value, list):
        return any(mentions_nets(v) for v in value)
    return False


# ---------------------------------------------------------------------------------------------
# Kubernetes NetworkPolicy


def label_selector(r, keys_values, allow_exists=True, empty_ok=True):
    """A LabelSelector; `{}` picks everything."""
    if empty_ok and r.random() < 0.25:
        return {}
    sel = {}
    keys = r.sample(sorted(keys_values), r.randint(1, 2))
    for k in keys:
        if r.random() < 0.5:
            sel.setdefault("matchLabels", {})[k] = r.choice(keys_values[k])
        else:
            ops = ["In", "NotIn"] + (["Exists", "DoesNotExist"] if allow_exists else [])
            op = r.choice(ops)
            req = {"key": k, "operator": op}
            if op in ("In", "NotIn"):
                req["values"] = sorted(r.sample(keys_values[k], r.randint(1, len(keys_values[k]))))
            sel.setdefault("matchExpressions", []).append(req)
    return sel


def ip_block(r):
    cidr, excepts = r.choice(NETS)
    block = {"cidr": cidr}
    if excepts and r.random() < 0.6:
        block["except"] = r.sample(excepts, r.randint(1, len(excepts)))
    return block


def k8s_peer(r, nets):
    kind = r.choice(["pod", "ns", "both", "ip"] if nets else ["pod", "ns", "both"])
    if kind == "ip":
        return {"ipBlock": ip_block(r)}
    if kind == "pod":
        return {"podSelector": label_selector(r, POD_LABELS)}
    if kind == "ns":
        return {"namespaceSelector": label_selector(r, NS_SELECTOR_LABELS)}
    # NCA evaluates Exists / DoesNotExist only in the policy's namespace (see the module doc).
    return {"namespaceSelector": label_selector(r, NS_SELECTOR_LABELS),
            "podSelector": label_selector(r, POD_LABELS, allow_exists=False)}


def k8s_port(r):
    port = {}
    if r.random() < 0.7:
        port["protocol"] = r.choice(PROTOCOLS)
    if r.random() < 0.85:
        port["port"] = r.choice(PORTS)
        if r.random() < 0.3:
            port["endPort"] = port["port"] + r.choice([0, 1, 100, 1000])
    return port


def k8s_rule(r, direction, nets):
    rule = {}
    peers_key = "from" if direction == "ingress" else "to"
    x = r.random()
    if x < 0.1:
        rule[peers_key] = []
    elif x < 0.85:
        rule[peers_key] = [k8s_peer(r, nets) for _ in range(r.randint(1, 2))]
    x = r.random()
    if x < 0.1:
        rule["ports"] = []
    elif x < 0.6:
        rule["ports"] = [k8s_port(r) for _ in range(r.randint(1, 2))]
    return rule


def k8s_policy(r, name, ns, nets):
    spec = {"podSelector": label_selector(r, POD_LABELS)}
    dirs = [d for d in ("ingress", "egress") if r.random() < 0.6]
    for d in dirs:
        spec[d] = [k8s_rule(r, d, nets) for _ in range(r.choice([0, 1, 1, 2]))]
    if r.random() < 0.5 or not dirs:
        types = [t for t in ("Ingress", "Egress") if r.random() < 0.6] or ["Ingress"]
        spec["policyTypes"] = types
        # The API server keeps rules of a direction policyTypes leaves out (and they mean
        # nothing), but NCA refuses them: "A NetworkPolicy with ingress field but no "Ingress"
        # in its policyTypes".
        for d, t in (("ingress", "Ingress"), ("egress", "Egress")):
            if d in spec and t not in types:
                del spec[d]
    elif spec.get("egress") == []:
        # Without policyTypes an empty egress list does not make the policy an Egress one
        # (kubernetes pkg/apis/networking/v1/defaults.go, SetDefaults_NetworkPolicy: Egress
        # only `if len(obj.Spec.Egress) != 0`), but NCA infers Egress from the key being there
        # (`K8sPolicyYamlParser`: `not policy_types and 'egress' in policy_spec`), its bug. The
        # same policy without the key means the same to Kubernetes.
        del spec["egress"]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": ns}, "spec": spec}


# ---------------------------------------------------------------------------------------------
# Calico v3


def calico_term(r, keys_values):
    k = r.choice(sorted(keys_values))
    v = r.choice(keys_values[k])
    vs = sorted(r.sample(keys_values[k], r.randint(1, len(keys_values[k]))))
    in_set = ", ".join(f"'{x}'" for x in vs)
    return r.choice([
        f"{k} == '{v}'",
        f"{k} != '{v}'",
        f"has({k})",
        f"!has({k})",
        f"{k} in {{{in_set}}}",
        f"{k} not in {{{in_set}}}",
        f"{k} contains '{v[1:3]}'",
        f"{k} starts with '{v[:2]}'",
        f"{k} ends with '{v[-1]}'",
    ])


def calico_selector(r, keys_values):
    x = r.random()
    if x < 0.15:
        return "all()"
    if x < 0.7:
        return calico_term(r, keys_values)
    if x < 0.8:
        return f"!({calico_term(r, keys_values)})"
    op = r.choice([" && ", " || "])
    expr = f"({calico_term(r, keys_values)}){op}({calico_term(r, keys_values)})"
    if r.random() < 0.3:
        expr = f"({expr}){r.choice([' && ', ' || '])}({calico_term(r, keys_values)})"
    return expr


def calico_ports(r):
    ports = []
    for _ in range(r.randint(1, 2)):
        p = r.choice(PORTS)
        ports.append(p if r.random() < 0.6 else f"{p}:{p + r.choice([1, 100])}")
    return ports


def calico_entity(r, peer_side, nets, namespaced):
    """An EntityRule: the peer's fields on the peer side, ports on the policed side."""
    ent = {}
    if peer_side:
        if r.random() < 0.5:
            ent["selector"] = calico_selector(r, POD_LABELS)
        if r.random() < 0.3:
            ent["namespaceSelector"] = calico_selector(r, NS_SELECTOR_LABELS)
        # A notSelector alone in a namespaced policy picks the endpoints of the policy's
        # namespace that it does not pick (calico libcalico-go/lib/backend/syncersv1/
        # updateprocessors/rules.go, getEndpointSelector: the namespace part applies "as soon as
        # _any_ of the selector fields are used, including NotSelector"); NCA reads it as every
        # endpoint and address but those (`CalicoPolicyYamlParser._get_rule_peers`), its bug.
        # So a notSelector comes beside another selector field there.
        if r.random() < 0.15 and (not namespaced or "selector" in ent or "namespaceSelector" in ent):
            ent["notSelector"] = calico_term(r, POD_LABELS)
        if nets and r.random() < 0.4:
            ent["nets"] = [r.choice(NETS)[0]]
        if nets and r.random() < 0.2:
            ent["notNets"] = [r.choice(r.choice(NETS)[1] or ["192.168.1.0/24"])]
    return ent


def calico_rule(r, direction, nets, namespaced):
    rule = {"action": r.choices(["Allow", "Deny", "Pass"], weights=[6, 3, 1])[0]}
    x = r.random()
    if x < 0.5:
        rule["protocol"] = r.choice(PROTOCOLS)
    elif x < 0.6:
        rule["notProtocol"] = r.choice(PROTOCOLS)
    peer = calico_entity(r, True, nets, namespaced)
    dst = {}
    # Ports only with a protocol that has them (validator.go: "rules that specify ports must
    # set protocol to TCP or UDP or SCTP").
    if "protocol" in rule:
        if r.random() < 0.5:
            dst["ports"] = calico_ports(r)
        elif r.random() < 0.3:
            dst["notPorts"] = calico_ports(r)
    if direction == "ingress":
        src = peer
    else:
        src = {}
        dst = {**peer, **dst}
    if src:
        rule["source"] = src
    if dst:
        rule["destination"] = dst
    return rule


def calico_policy(r, name, ns, order, nets):
    spec = {}
    if order is not None:
        spec["order"] = order
    spec["selector"] = calico_selector(r, POD_LABELS)
    dirs = [d for d in ("ingress", "egress") if r.random() < 0.6]
    for d in dirs:
        spec[d] = [calico_rule(r, d, nets, ns is not None) for _ in range(r.randint(1, 3))]
    if r.random() < 0.5 or not dirs:
        spec["types"] = [t for t in ("Ingress", "Egress") if r.random() < 0.6] or ["Ingress"]
        # The validator refuses rules for a direction the types leave out.
        for d, t in (("ingress", "Ingress"), ("egress", "Egress")):
            if d in spec and t not in spec["types"]:
                del spec[d]
    meta = {"name": name}
    kind = "GlobalNetworkPolicy"
    if ns is not None:
        meta["namespace"] = ns
        kind = "NetworkPolicy"
    return {"apiVersion": "projectcalico.org/v3", "kind": kind, "metadata": meta, "spec": spec}
