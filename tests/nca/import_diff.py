#!/usr/bin/env python3
"""The differential test of `netpol import` for Calico against IBM's network-config-analyzer
(NCA 2.1.0): NCA's connectivity map of the original Calico policies is NCA's map of the
imported source compiled back to Calico. Run by `tests/import_calico.rs`; by hand:

    python3 tests/nca/import_diff.py --netpol target/debug/netpol --out target/nca-import --seeds 0:40

Cases: the random `calico` and `mixed` families of `gen.py` (its other seeds are skipped), and
`--case POLICIES INVENTORY` pairs. Each is imported with its inventory (`netpol import`); the
policies whose import is refused (a loss) are left out and the rest imported again; a case with
nothing left is counted, never compared, but a proof failure (E0701) fails the test. An
imported source is compiled for Calico; NCA rejects Calico `tier` and rule `metadata`, so they
are stripped (and `projectcalico.org/name` is given as `kubernetes.io/metadata.name`, see
`name_label`), and a compile with a Tier (netpol's deny tier) is not compared (without its tier
the deny policies would read otherwise). Both are given to NCA with the same inventory and the
two maps must be equal, line for line.

Exit status: 0 when every compared case agrees (and at least one was compared), 1 otherwise.
"""
import argparse
import re
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import yaml  # noqa: E402

import difftest  # noqa: E402
import gen  # noqa: E402


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


def strip(doc):
    spec = doc.get("spec") or {}
    spec.pop("tier", None)
    for key in ("ingress", "egress"):
        for rule in spec.get(key) or []:
            rule.pop("metadata", None)
    return doc


LOSS = re.compile(r"^error\[E07\d\d\]: (\w+) (\S+?):? ", re.M)


def title(doc):
    meta = doc.get("metadata") or {}
    ns = meta.get("namespace")
    return doc.get("kind"), f"{ns}/{meta.get('name')}" if ns else meta.get("name")


def check(name, policies, inventory, netpol, out):
    """(outcome, detail): 'same', 'refused' or 'differ'/'error'. The policies whose import is
    refused are left out (up to three rounds: leaving one out may change another's order), and
    the rest compared."""
    case_dir = os.path.join(out, name)
    shutil.rmtree(case_dir, ignore_errors=True)
    os.makedirs(case_dir)
    imported = os.path.join(case_dir, "imported.netpol")
    with open(policies) as f:
        kept = [d for d in yaml.safe_load_all(f) if isinstance(d, dict)]
    for _ in range(3):
        policies = os.path.join(case_dir, "policies.yaml")
        difftest.write_yaml(policies, kept)
        proc = subprocess.run([netpol, "import", policies, "--inventory", inventory, "--color", "never",
                               "-o", imported], capture_output=True, text=True, timeout=300)
        if "E0701" in proc.stderr:
            return "error", f"the import's own proof failed:\n{proc.stderr}"
        if proc.returncode == 0:
            break
        lost = set(LOSS.findall(proc.stderr))
        kept = [d for d in kept if title(d) not in lost]
        if not lost or not kept:
            break
    if proc.returncode != 0:
        shutil.rmtree(case_dir)
        return "refused", ""
    proc = subprocess.run([netpol, "compile", imported, "--target", "calico"], capture_output=True,
                          text=True, timeout=300)
    if proc.returncode != 0:
        return "error", f"the imported source does not compile:\n{proc.stderr}"
    docs = [d for d in yaml.safe_load_all(proc.stdout) if isinstance(d, dict)]
    if any(d.get("kind") == "Tier" for d in docs):
        shutil.rmtree(case_dir)
        return "refused", ""
    compiled = os.path.join(case_dir, "compiled.yaml")
    difftest.write_yaml(compiled, [name_label(strip(d)) for d in docs])
    for_nca = os.path.join(case_dir, "original.yaml")
    difftest.write_yaml(for_nca, [name_label(d) for d in kept])
    try:
        original_dir = os.path.join(case_dir, "original")
        os.makedirs(original_dir)
        before = difftest.run_nca(original_dir, [inventory, for_nca])
        after_dir = os.path.join(case_dir, "imported")
        os.makedirs(after_dir)
        after = difftest.run_nca(after_dir, [inventory, compiled])
    except Exception as e:  # noqa: BLE001  (a tool failing is a finding)
        return "error", str(e)
    if before != after:
        lines = sorted(set(before.splitlines()) ^ set(after.splitlines()))
        return "differ", "NCA's maps differ (original vs imported):\n" + "\n".join(lines[:20])
    shutil.rmtree(case_dir)
    return "same", ""


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--netpol", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--seeds", default="0:40")
    p.add_argument("--case", nargs=2, action="append", default=[], metavar=("POLICIES", "INVENTORY"))
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    counts = {"same": 0, "refused": 0, "differ": 0, "error": 0}
    failures = []
    for i, (policies, inventory) in enumerate(args.case):
        outcome, detail = check(f"case-{i}", os.path.abspath(policies), os.path.abspath(inventory),
                                args.netpol, args.out)
        counts[outcome] += 1
        if outcome in ("differ", "error"):
            failures.append(f"{policies}: {detail}")
    for seed in difftest.parse_seeds(args.seeds):
        case = gen.generate(seed)
        if case.family not in ("calico", "mixed"):
            continue
        seed_dir = difftest.prepare(case, args.out)
        outcome, detail = check(f"seed-{seed}-import", os.path.join(seed_dir, "policies.yaml"),
                                os.path.join(seed_dir, "inventory.yaml"), args.netpol, args.out)
        counts[outcome] += 1
        if outcome in ("differ", "error"):
            failures.append(f"seed {seed} ({case.family}): {detail}")
        else:
            shutil.rmtree(seed_dir)
    for f in failures:
        print(f)
    print("import differential: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    return 0 if not failures and counts["same"] > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
