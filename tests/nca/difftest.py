#!/usr/bin/env python3
"""The differential test of netpol's reading of Kubernetes and Calico policies against IBM's
network-config-analyzer (NCA 2.1.0). Run by `tests/nca.rs`; by hand:

    python3 tests/nca/difftest.py --netpol target/debug/netpol --out target/nca --seeds 0:40

Also, with `--upstream DIR`, each folder of DIR holds published cases: each of its files that
holds policies is one case, with the folder's other files as the inventory.

For each seed: generate a cluster and policies (`gen.py`), write them as YAML under
OUT/seed-N/ (`inventory.yaml`, `policies.yaml`), ask NCA (`nca_matrix.py` -> `nca.csv`) and
netpol (`netpol matrix policies.yaml --inventory inventory.yaml --as csv` -> `netpol.csv`) for
the connectivity map, and compare them (`compare.py`). The files stay for a failing seed.
`--self-test` checks the comparison itself on NCA's answers: an answer built from NCA's own
agrees, and one with a port removed or added disagrees.

With `--import`, each seed and published case is also imported (`netpol import POLICIES
--inventory INVENTORY`), the imported source compiled back to the input's dialect, and NCA asked
again: its map of the compiled import must equal its map of the originals, pair by pair. That is
the import's proof judged by an analyzer netpol did not write. An import that netpol refuses
(a construct the language cannot say) is counted, with its codes; a refused Kubernetes import
is a failure, since the language says every NetworkPolicy; of a Calico input, the objects
refused are left out and the rest compared. `--case POLICIES INVENTORY` adds a case of one's own
(imported and judged as above; its own reading is not compared, as its inventory may name pods
both by their workload and one by one).

Exit status: 0 when every seed agrees, 1 when some seed disagrees, 2 on a usage or tool error.
"""
import argparse
import concurrent.futures
import ipaddress
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import yaml  # noqa: E402  (PyYAML, a dependency of NCA)

import compare  # noqa: E402
import gen  # noqa: E402

WORLD = "203.0.113.7"  # netpol's outside address (universe::WORLD_ADDRESSES)


def write_yaml(path, docs):
    with open(path, "w") as f:
        yaml.safe_dump_all(docs, f, sort_keys=False)


def net_addresses(value, out):
    """First and last address of every IPv4 network the policies name: netpol's address points."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k in ("cidr", "except", "nets", "notNets"):
                for n in v if isinstance(v, list) else [v]:
                    net = ipaddress.ip_network(n)
                    out.update({str(net.network_address), str(net.broadcast_address)})
            else:
                net_addresses(v, out)
    elif isinstance(value, list):
        for v in value:
            net_addresses(v, out)
    return out


def run_nca(seed_dir, files=None, extra=()):
    out = os.path.join(seed_dir, "nca.csv")
    files = files or [os.path.join(seed_dir, "inventory.yaml"), os.path.join(seed_dir, "policies.yaml")]
    args = [a for f in files for a in ("--resource_list", f)] + list(extra)
    proc = subprocess.run(
        [sys.executable, os.path.join(HERE, "nca_matrix.py"), out] + args,
        capture_output=True, text=True, timeout=300)
    with open(os.path.join(seed_dir, "nca.log"), "w") as f:
        f.write(proc.stdout + proc.stderr)
    if proc.returncode != 0 or not os.path.exists(out) or "Error" in proc.stdout + proc.stderr:
        raise RuntimeError(f"NCA failed (exit {proc.returncode}):\n{proc.stdout}{proc.stderr}")
    with open(out) as f:
        return f.read()


def run_netpol(netpol, seed_dir, policies=None, inventory=None):
    policies = policies or [os.path.join(seed_dir, "policies.yaml")]
    inventory = inventory or [os.path.join(seed_dir, "inventory.yaml")]
    proc = subprocess.run(
        [netpol, "matrix"] + policies + [a for f in inventory for a in ("--inventory", f)]
        + ["--as", "csv"],
        capture_output=True, text=True, timeout=300)
    with open(os.path.join(seed_dir, "netpol.csv"), "w") as f:
        f.write(proc.stdout)
    with open(os.path.join(seed_dir, "netpol.log"), "w") as f:
        f.write(proc.stderr)
    if proc.returncode != 0:
        raise RuntimeError(f"netpol failed (exit {proc.returncode}):\n{proc.stderr}")
    return proc.stdout, proc.stderr


IMPORT_TOTALS = {"imported": 0, "refused": 0, "unjudged": 0}

# A loss's first line: `error[E07xx]: Kind ns/name …`.
LOSS = re.compile(r"^error\[E07\d\d\]: (\w+) (\S+?):? ", re.M)


def title(doc):
    meta = doc.get("metadata") or {}
    ns = meta.get("namespace")
    return doc.get("kind"), f"{ns}/{meta.get('name')}" if ns else meta.get("name")


def name_label(value):
    """NCA labels a namespace with `kubernetes.io/metadata.name`, not Calico's own
    `projectcalico.org/name` (the same name): selectors on the latter are given to NCA as the
    former, on both sides."""
    if isinstance(value, dict):
        return {k: (v.replace("projectcalico.org/name", "kubernetes.io/metadata.name")
                    if k == "namespaceSelector" and isinstance(v, str) else name_label(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [name_label(v) for v in value]
    return value


def nca_ready(docs):
    """The compiled import as NCA reads it: rule `metadata` stripped (NCA rejects it). `None`
    when it holds a Tier (netpol's deny tier), which NCA cannot model."""
    out = []
    for d in docs:
        if not isinstance(d, dict):
            continue
        if d.get("kind") == "Tier":
            return None
        spec = d.get("spec") or {}
        spec.pop("tier", None)
        for key in ("ingress", "egress"):
            for rule in spec.get(key) or []:
                rule.pop("metadata", None)
        out.append(name_label(d))
    return out


def check_import(netpol, seed_dir, policies, inventory, family, extra=()):
    """Problems of the import of the documents of `policies`: netpol's source compiled back
    must mean, to NCA, what the originals do. A Kubernetes import must never be refused; of
    Calico inputs, the objects whose import is refused (a loss) are left out, up to three rounds
    (leaving one out may change another's order), and the rest compared."""
    work = os.path.join(seed_dir, "import")
    os.makedirs(work, exist_ok=True)
    source = os.path.join(work, "imported.netpol")
    kept = [d for f in policies for d in documents(f) if isinstance(d, dict)]
    for _ in range(3):
        originals = os.path.join(work, "policies.yaml")
        write_yaml(originals, kept)
        proc = subprocess.run(
            [netpol, "import", originals, "--color", "never", "-o", source]
            + [a for f in inventory for a in ("--inventory", f)],
            capture_output=True, text=True, timeout=300)
        with open(os.path.join(work, "import.log"), "w") as f:
            f.write(proc.stdout + proc.stderr)
        if "E0701" in proc.stderr:
            return [f"the import's own proof failed:\n{proc.stderr[-2000:]}"]
        if proc.returncode == 0:
            break
        if family == "k8s":
            return [f"netpol import refused a Kubernetes input (exit {proc.returncode}):\n"
                    + proc.stderr[-2000:]]
        lost = set(LOSS.findall(proc.stderr))
        kept = [d for d in kept if title(d) not in lost]
        if not lost or not kept:
            break
    if proc.returncode != 0 or not kept:
        IMPORT_TOTALS["refused"] += 1
        return []
    target = "kubernetes" if family == "k8s" else "calico"
    comp = subprocess.run([netpol, "compile", source, "--target", target],
                          capture_output=True, text=True, timeout=300)
    if comp.returncode != 0:
        return [f"the imported source does not compile for {target}:\n{comp.stderr[-2000:]}"]
    docs = nca_ready(list(yaml.safe_load_all(comp.stdout)))
    if docs is None:
        IMPORT_TOTALS["unjudged"] += 1
        return []
    compiled = os.path.join(work, "compiled.yaml")
    write_yaml(compiled, docs)
    write_yaml(originals, [name_label(d) for d in kept])
    os.makedirs(os.path.join(work, "original"), exist_ok=True)
    before = run_nca(os.path.join(work, "original"), inventory + [originals], extra)
    after = run_nca(work, inventory + [compiled], extra)
    IMPORT_TOTALS["imported"] += 1
    before, after = compare.read_nca(before), compare.read_nca(after)
    problems = []
    for pair in sorted(set(before) | set(after)):
        a, b = before.get(pair), after.get(pair)
        if (a is None or compare.is_empty(a)) and (b is None or compare.is_empty(b)):
            continue
        if a != b:
            problems.append(f"import: NCA allows {pair[0]} -> {pair[1]} "
                            f"{compare.show(a) if a else 'nothing'} for the originals, "
                            f"{compare.show(b) if b else 'nothing'} for the compiled import")
    return problems


def prepare(case, out):
    seed_dir = os.path.join(out, f"seed-{case.seed}")
    shutil.rmtree(seed_dir, ignore_errors=True)
    os.makedirs(seed_dir)
    write_yaml(os.path.join(seed_dir, "inventory.yaml"), case.inventory)
    write_yaml(os.path.join(seed_dir, "policies.yaml"), case.policies)
    return seed_dir


def addresses_of(case):
    return sorted(net_addresses(case.policies, {WORLD}))


def check_seed(seed, netpol, out, families=gen.FAMILIES, imports=False):
    """(seed, family, problems, stats, notes)."""
    case = gen.generate(seed, families)
    seed_dir = prepare(case, out)
    try:
        nca_text = run_nca(seed_dir)
        netpol_text, notes = run_netpol(netpol, seed_dir)
        problems, stats = compare.compare(case.pods, addresses_of(case), nca_text, netpol_text,
                                          exact_pods=not case.has_nets)
        if imports:
            problems += check_import(netpol, seed_dir, [os.path.join(seed_dir, "policies.yaml")],
                                     [os.path.join(seed_dir, "inventory.yaml")], case.family)
    except Exception as e:  # a tool failing on a valid input is a finding too
        return seed, case.family, [str(e)], {}, ""
    if not problems:
        shutil.rmtree(seed_dir)
    return seed, case.family, problems, stats, notes


POLICY_KINDS = {"NetworkPolicy", "GlobalNetworkPolicy"}
POD_TEMPLATES = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob",
                 "ReplicationController"}


def documents(path):
    """The objects of a YAML or JSON file, list items included. Items of a typed list as the API
    server returns it (`PodList`, `NamespaceList`) carry no kind of their own."""
    with open(path) as f:
        for doc in yaml.safe_load_all(f):
            if not isinstance(doc, dict):
                continue
            if doc.get("kind", "").endswith("List"):
                item_kind = doc["kind"][: -len("List")] or None
                for d in doc.get("items") or []:
                    if isinstance(d, dict):
                        yield {"kind": item_kind, **d} if "kind" not in d else d
            else:
                yield doc


def upstream_cases(case_dir):
    """A published case folder: each file that holds policies, against all the folder's other
    files as the inventory. As (name, policy file, inventory files, pods, policy documents,
    whether NCA names pods one by one)."""
    files = sorted(os.path.join(case_dir, f) for f in os.listdir(case_dir)
                   if f.endswith((".yaml", ".yml", ".json")))
    policy_files, inventory, pods, templates = {}, [], [], False
    for f in files:
        docs = list(documents(f))
        if any(d.get("kind") in POLICY_KINDS for d in docs):
            policy_files[f] = docs
            continue
        inventory.append(f)
        for d in docs:
            meta = d.get("metadata") or {}
            ns = meta.get("namespace", "default")
            if d.get("kind") == "Pod":
                pods.append(f"{ns}/{meta['name']}")
            elif d.get("kind") in POD_TEMPLATES:
                pods.append(f"{ns}/{meta['name']}({d['kind']})")
                templates = True
    name = os.path.basename(case_dir)
    for f, docs in policy_files.items():
        sub = name if len(policy_files) == 1 else f"{name}/{os.path.basename(f).rsplit('.', 1)[0]}"
        # Pods that are the inventory's own objects (a `kubectl get pods` dump, whose owners
        # are not in it) are named one by one; NCA would name them by their owners.
        yield sub, f, inventory, pods, docs, not templates


def check_upstream(case, netpol, out, imports=False):
    """A published case: its policy file against its inventory."""
    name, policy_file, inventory, pods, policy_docs, by_pod = case
    seed_dir = os.path.join(out, "upstream-" + name.replace("/", "-"))
    shutil.rmtree(seed_dir, ignore_errors=True)
    os.makedirs(seed_dir)
    extra = ["--output_endpoints", "pods"] if by_pod else []
    try:
        nca_text = run_nca(seed_dir, [policy_file] + inventory, extra)
        netpol_text, notes = run_netpol(netpol, seed_dir, [policy_file], inventory)
        addresses = sorted(net_addresses(policy_docs, {WORLD}))
        problems, stats = compare.compare(pods, addresses, nca_text, netpol_text,
                                          exact_pods=not gen.mentions_nets(policy_docs))
        if imports:
            family = "calico" if any("projectcalico" in d.get("apiVersion", "")
                                     for d in policy_docs) else "k8s"
            problems += check_import(netpol, seed_dir, [policy_file], inventory, family, extra)
    except Exception as e:
        return f"upstream {name}", "k8s", [str(e)], {}, ""
    if not problems:
        shutil.rmtree(seed_dir)
    return f"upstream {name}", "k8s", problems, stats, notes


def check_case(i, policy_file, inventory_file, netpol, out):
    """A case of one's own (`--case`): its import judged by NCA."""
    seed_dir = os.path.join(out, f"case-{i}")
    shutil.rmtree(seed_dir, ignore_errors=True)
    os.makedirs(seed_dir)
    family = "calico" if any("projectcalico" in d.get("apiVersion", "")
                             for d in documents(policy_file)) else "k8s"
    try:
        problems = check_import(netpol, seed_dir, [policy_file], [inventory_file], family)
    except Exception as e:
        problems = [str(e)]
    if not problems:
        shutil.rmtree(seed_dir)
    return f"case {policy_file}", family, problems, {}, ""


def nca_as_netpol(case, nca_text, drop=None, add=None):
    """netpol's CSV as it would read if netpol answered exactly what NCA does."""
    pairs = compare.read_nca(nca_text)
    addresses = addresses_of(case)

    def name_of(end):
        r = compare.range_of(end)
        if r is None:
            return [end]
        return [a for a in addresses if r[0] <= int(ipaddress.IPv4Address(a)) <= r[1]]

    lines = ["from,to,certain,possible"]
    rows = {}
    for (a, b), ports in pairs.items():
        for x in name_of(a):
            for y in name_of(b):
                rows[(x, y)] = ports
    if drop is not None and drop in rows:
        ports = dict(rows[drop])
        ports["tcp"] = compare.subtract(ports["tcp"], ((80, 80),))
        ports["udp"] = compare.subtract(ports["udp"], ((53, 53),))
        rows[drop] = ports
    if add is not None:
        rows[add] = {p: compare.FULL for p in compare.PROTOCOLS}
    for (x, y), ports in sorted(rows.items()):
        text = compare.show(ports)
        lines.append(f'{x},{y},"{text}","{text}"')
    return "\n".join(lines) + "\n"


def self_test(out, seeds):
    """The comparison agrees with NCA's own answer, and catches a port taken away or added."""
    failures = []
    caught = {"drop": 0, "add": 0}
    for seed in seeds:
        case = gen.generate(seed)
        seed_dir = prepare(case, out)
        nca_text = run_nca(seed_dir)
        addrs = addresses_of(case)
        same, _ = compare.compare(case.pods, addrs, nca_text, nca_as_netpol(case, nca_text), True)
        if same:
            failures.append(f"seed {seed}: NCA's own answer disagrees with itself: {same[:3]}")
        pairs = compare.read_nca(nca_text)
        pod_pairs = sorted(k for k, v in pairs.items()
                           if k[0] in case.pods and k[1] in case.pods
                           and any(lo <= 80 <= hi for lo, hi in v["tcp"]))
        if pod_pairs:
            bad, _ = compare.compare(case.pods, addrs, nca_text,
                                     nca_as_netpol(case, nca_text, drop=pod_pairs[0]), True)
            caught["drop"] += 1
            if not any("not even possibly" in p for p in bad):
                failures.append(f"seed {seed}: a port taken from {pod_pairs[0]} went unnoticed")
        missing = [(a, b) for a in case.pods for b in case.pods
                   if a != b and is_nothing(pairs.get((a, b)))]
        if missing:
            bad, _ = compare.compare(case.pods, addrs, nca_text,
                                     nca_as_netpol(case, nca_text, add=missing[0]), True)
            caught["add"] += 1
            if not any("certainly" in p for p in bad) or not any("possibly allowed, NCA" in p
                                                                  for p in bad):
                failures.append(f"seed {seed}: a pair added to {missing[0]} went unnoticed")
        shutil.rmtree(seed_dir)
    if caught["drop"] == 0 or caught["add"] == 0:
        failures.append(f"the self-test never mutated an answer: {caught}")
    return failures


def is_nothing(ports):
    return ports is None or compare.is_empty(ports)


def parse_seeds(text):
    a, _, b = text.partition(":")
    return range(int(a), int(b)) if b else [int(a)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--netpol", help="the netpol binary")
    ap.add_argument("--out", required=True, help="folder for each seed's files")
    ap.add_argument("--seeds", default="0:40", help="A:B (A included, B not) or one seed")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--families", default=",".join(gen.FAMILIES),
                    help="the policy families seeds take in turn: k8s, calico, mixed")
    ap.add_argument("--upstream", help="folder of published cases, one folder each")
    ap.add_argument("--self-test", action="store_true")
    ap.add_argument("--case", nargs=2, action="append", default=[],
                    metavar=("POLICIES", "INVENTORY"), help="a case of one's own")
    ap.add_argument("--import", dest="imports", action="store_true",
                    help="also import each input and compare NCA's maps of both")
    args = ap.parse_args()
    seeds = parse_seeds(args.seeds)
    families = tuple(args.families.split(","))
    if not set(families) <= {"k8s", "calico", "mixed"}:
        ap.error(f"unknown family in {args.families}")
    os.makedirs(args.out, exist_ok=True)
    if args.self_test:
        failures = self_test(args.out, seeds)
        for f in failures:
            print(f"SELF-TEST FAILED: {f}")
        print(f"self-test: {len(seeds)} seeds, {len(failures)} failures")
        return 1 if failures else 0
    if not args.netpol:
        ap.error("--netpol is required")
    failed = 0
    totals = {"pairs": 0, "exact": 0, "imprecise": 0}
    upstream = []
    if args.upstream:
        for d in sorted(os.listdir(args.upstream)):
            if os.path.isdir(os.path.join(args.upstream, d)):
                upstream.extend(upstream_cases(os.path.join(args.upstream, d)))
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(lambda c: check_upstream(c, args.netpol, args.out, args.imports),
                                upstream))
        results += list(pool.map(lambda c: check_case(c[0], c[1][0], c[1][1], args.netpol,
                                                      args.out), enumerate(args.case)))
        results += list(pool.map(lambda s: check_seed(s, args.netpol, args.out, families,
                                                      args.imports), seeds))
    for seed, family, problems, stats, notes in results:
        for k in totals:
            totals[k] += stats.get(k, 0)
        if problems:
            failed += 1
            if isinstance(seed, int):
                what, seed_dir = f"seed {seed}", os.path.join(args.out, f"seed-{seed}")
            else:
                what, seed_dir = seed, os.path.join(args.out, seed.replace(" ", "-").replace("/", "-"))
                if seed.startswith("case "):
                    seed_dir = args.out
            print(f"DISAGREEMENT {what} ({family}); files in {seed_dir}")
            for p in problems[:12]:
                print(f"  {p}")
            if len(problems) > 12:
                print(f"  ... and {len(problems) - 12} more")
            if notes.strip():
                print("  netpol's notes:\n    " + notes.strip().replace("\n", "\n    "))
    own = f", {len(args.case)} cases of one's own" if args.case else ""
    print(f"nca difftest: {len(seeds)} seeds and {len(upstream)} published cases{own}, {failed} "
          f"disagreeing; {totals['pairs']} pairs "
          f"compared, {totals['exact']} of them exactly; {totals['imprecise']} where netpol's "
          f"certain and possible differ")
    if args.imports:
        print(f"imports: {IMPORT_TOTALS['imported']} judged equal by NCA, "
              f"{IMPORT_TOTALS['refused']} refused by netpol (losses), "
              f"{IMPORT_TOTALS['unjudged']} compiled to a tier NCA cannot model")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
