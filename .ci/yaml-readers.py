#!/usr/bin/env python3
"""Every document netpol emits reads the same under PyYAML (YAML 1.1, like kubectl's go-yaml
v2) and ruamel.yaml (YAML 1.2): every example on every target, and label values that the two
versions of YAML type differently. Usage: yaml-readers.py NETPOL_BINARY EXAMPLES_DIR"""
import glob, io, os, subprocess, sys, tempfile

import yaml  # PyYAML: YAML 1.1
from ruamel.yaml import YAML  # YAML 1.2

TRAPS = ["yes", "no", "on", "off", "y", "n", "Y", "N", "Yes", "ON", "Off", "true", "False", "null",
         "1_000", "0o17", "010", "08", "0x1F", "0b101", "1e3", "2024-01-02", "1", "007", "1.5"]


def plain(v):
    """ruamel's values as plain Python values."""
    if isinstance(v, dict):
        return {str(k) if not isinstance(k, (bool, int, float)) else k: plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [plain(x) for x in v]
    if isinstance(v, str):
        return str(v)
    return v


def documents(binary, path, target):
    out = subprocess.run([binary, "compile", path, "--target", target], capture_output=True, text=True)
    if out.returncode != 0:
        return None
    return out.stdout


def check(stream, what):
    y12 = YAML(typ="safe", pure=True)
    y12.version = (1, 2)
    a = list(yaml.safe_load_all(stream))
    b = [plain(d) for d in y12.load_all(io.StringIO(stream))]
    if a != b:
        for x, y in zip(a, b):
            if x != y:
                print(f"{what}: PyYAML read {x!r}\n  ruamel.yaml read {y!r}")
        return 0, 1
    return len(a), 0


def main():
    binary, examples = sys.argv[1], sys.argv[2]
    docs = failures = 0
    for path in sorted(glob.glob(os.path.join(examples, "*.netpol"))):
        for target in ("kubernetes", "cilium", "calico"):
            stream = documents(binary, path, target)
            if stream is not None:
                n, f = check(stream, f"{path} ({target})")
                docs, failures = docs + n, failures + f
    with tempfile.TemporaryDirectory() as tmp:
        for value in TRAPS:
            src = os.path.join(tmp, "trap.netpol")
            with open(src, "w") as f:
                f.write(f'namespace shop\nworkload web {{ app: "{value}" }}\nweb accepts tcp 80 from namespace shop\n')
            for target in ("kubernetes", "cilium", "calico"):
                stream = documents(binary, src, target)
                if stream is None:
                    print(f"trap {value!r} ({target}): did not compile"); failures += 1; continue
                n, f = check(stream, f"trap {value!r} ({target})")
                docs, failures = docs + n, failures + f
                if f"'{value}'" not in stream and f'"{value}"' not in stream:
                    print(f"trap {value!r} ({target}): not quoted"); failures += 1
    print(f"{docs} documents read the same under PyYAML and ruamel.yaml, {failures} differ")
    if docs < 50:
        print("too few documents"); failures += 1
    sys.exit(1 if failures else 0)


main()
