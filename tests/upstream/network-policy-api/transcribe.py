"""Transcribes the ClusterNetworkPolicy conformance tests of kubernetes-sigs/network-policy-api
into netpol fixtures (see README.md): `python3 transcribe.py GIT_DIR COMMIT`, GIT_DIR a clone
(or bare repository) of network-policy-api. Writes base/, patched/, expects/ and inventory.yaml
next to this script, and prints the `CASES` entries of tests/upstream_cnp.rs."""
import re, os, sys, copy, yaml, subprocess
REPO, COMMIT = sys.argv[1], sys.argv[2]
OUT = os.path.dirname(os.path.abspath(__file__))
def show(p): return subprocess.run(['git', '--git-dir', REPO, 'show', f'{COMMIT}:{p}'], capture_output=True, text=True, check=True).stdout
def ls(p): return subprocess.run(['git', '--git-dir', REPO, 'ls-tree', '--name-only', f'{COMMIT}:{p}'], capture_output=True, text=True, check=True).stdout.split()
WORKLOAD = {'gryffindor':'harry-potter','slytherin':'draco-malfoy','hufflepuff':'cedric-diggory','ravenclaw':'luna-lovegood','forbidden-forrest':'centaur'}
SKIP = {'CNPAdminTierEgressNodePeers','CNPBaselineTierEgressNodePeers'}
skipped = []
cases = []
tests = []
for f in sorted(ls('conformance/tests')):
    if not f.endswith('.go') or f == 'main.go': continue
    raw = show('conformance/tests/' + f)
    raw = re.sub(r'//[^\n]*', '', raw); raw = re.sub(r'\s+', ' ', raw)
    for part in raw.split('= suite.ConformanceTest{')[1:]:
        tests.append((f, part))
for f, s in tests:
    m = re.search(r'ShortName: "([^"]+)"', s)
    if not m: continue
    short = m.group(1)
    if short in SKIP: continue
    manifests = re.findall(r'"(base/[^"]+)"', re.search(r'Manifests: \[\]string\{([^}]*)\}', s).group(1))
    objects = []
    for man in manifests:
        for d in yaml.safe_load_all(show('conformance/' + man)):
            if d: objects.append((man, d))
    state = copy.deepcopy(objects); changed = False
    runs = re.split(r't\.Run\(', s)[1:]
    for ri, r in enumerate(runs):
        title = re.match(r'"([^"]+)"', r).group(1)
        pods = {}; cur = None; mut = None; npname = None
        pokes = []; relabelled = False
        tok = re.compile(r'(\w+) :?= kubernetes\.GetPod\(t, s\.Client, "([^"]+)", "([^"]+)"'
            r'|cnp := kubernetes\.GetClusterNetworkPolicy\(t, s\.Client, "([^"]+)"'
            r'|(\w+) := mutate(?:\.DeepCopy\(\))?\.Spec\.(Ingress|Egress)\[(\d+)\] \w+ := "(\w+)" \w+\.Protocols = \[\]api\.ClusterNetworkPolicyProtocol\{ \{ DestinationNamedPort: \w+, \}, \} mutate\.Spec\.(?:Ingress|Egress)\[\d+\] = \w+'
            r'|(\w+) := mutate\.Spec\.(Ingress|Egress)\[(\d+)\] mutate\.Spec\.(?:Ingress|Egress)\[\d+\] = mutate\.Spec\.(?:Ingress|Egress)\[(\d+)\]'
            r'|mutate\.Spec\.(Ingress|Egress)\[(\d+)\]\.Action = api\.ClusterNetworkPolicyRuleAction(\w+)'
            r'|mutate\.Spec\.Priority = (\d+)'
            r'|Name: "([^"]+)", \}, np\)'
            r'|s\.Client\.Delete\(ctx, np\)'
            r'|kubernetes\.PokeServer\(t, s\.ClientSet, &s\.KubeConfig, "([^"]+)", "([^"]+)", "(\w+)", (\w+)\.Status\.PodIP, int32\((\d+)\), s\.TimeoutConfig, (true|false)\)'
            r'|(PatchNamespace|append\(|DeepCopy\(\)\.|Spec\.\w+\[\d+\]\.\w+ =)')
        for t in tok.finditer(r):
            g = t.groups()
            if g[0]: pods[g[0]] = (g[1], g[2])
            elif g[3]: cur = g[3]
            elif g[4]:
                d, i, name_ = g[5].lower(), int(g[6]), g[7]
                for _, o in state:
                    if o['metadata']['name'] == cur and o['kind'] == 'ClusterNetworkPolicy':
                        o['spec'][d][i]['protocols'] = [{'destinationNamedPort': name_}]; changed = True
            elif g[8]:
                d, i, j = g[9].lower(), int(g[10]), int(g[11])
                for _, o in state:
                    if o['metadata']['name'] == cur and o['kind'] == 'ClusterNetworkPolicy':
                        l = o['spec'][d]; l[i], l[j] = l[j], l[i]; changed = True
            elif g[12]:
                for _, o in state:
                    if o['metadata']['name'] == cur and o['kind'] == 'ClusterNetworkPolicy':
                        o['spec'][g[12].lower()][int(g[13])]['action'] = g[14]; changed = True
            elif g[15]:
                for _, o in state:
                    if o['metadata']['name'] == cur and o['kind'] == 'ClusterNetworkPolicy':
                        o['spec']['priority'] = int(g[15]); changed = True
            elif g[16]: npname = g[16]
            elif t.group(0).startswith('s.Client.Delete'):
                state = [(m_, o) for m_, o in state if not (o['kind'] == 'NetworkPolicy' and o['metadata']['name'] == npname)]; changed = True
            elif t.group(0) == 'PatchNamespace':
                relabelled = not relabelled
            elif t.group(0) == 'append(':
                skipped.append((short, ri, title)); break
            elif g[17]:
                if relabelled: continue
                ns, pod = pods[g[20]]
                pokes.append((copy.deepcopy(state), changed, (g[17], g[18], g[19], ns, pod, int(g[21]), g[22] == 'true')))
            else:
                sys.exit(f'{short} run {ri}: unsupported {t.group(0)}')
        # group pokes by state
        groups = []
        for st, ch, p in pokes:
            if groups and groups[-1][0] == st: groups[-1][2].append(p)
            else: groups.append((st, ch, [p]))
        for gi, (st, ch, ps) in enumerate(groups):
            name = f'{short}-{ri}' + ('' if len(groups) == 1 else 'abcdefg'[gi])
            cases.append((name, short, f, title, manifests, st, ch, ps))
os.makedirs(OUT + '/expects', exist_ok=True); os.makedirs(OUT + '/patched', exist_ok=True)
for man in sorted({m for c in cases for m in c[4]}):
    os.makedirs(os.path.dirname(OUT + '/' + man), exist_ok=True)
    open(OUT + '/' + man, 'w').write(show('conformance/' + man))
base = show('conformance/base/manifests.yaml')
cut = base.index('---\napiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: centaur')
open(OUT + '/inventory.yaml', 'w').write(base[:cut])
def house(ns): return ns.replace('network-policy-conformance-', '')
header = ''.join(f'namespace network-policy-conformance-{h}\nworkload {w} {{ conformance-house: {h} }}\n' for h, w in WORKLOAD.items())
rust = []
for name, short, f, title, manifests, st, ch, ps in cases:
    if ch:
        path = f'patched/{name}.yaml'
        docs = [o for _, o in st]
        open(OUT + '/' + path, 'w').write(f'# {short} ({os.path.basename(f)}), "{title}": {", ".join(manifests)}\n# as the test has patched them by this step.\n' + yaml.safe_dump_all(docs, sort_keys=False, explicit_start=False))
        files = [path]
    else:
        files = manifests
    seen = {}
    lines = []
    for cns, cpod, proto, sns, spod, port, ok in ps:
        key = (cns, cpod.rsplit('-', 1)[0], sns, spod.rsplit('-', 1)[0], proto, port)
        if key in seen:
            assert seen[key] == ok, (name, key)
            continue
        seen[key] = ok
        verb = 'can reach' if ok else 'cannot reach'
        lines.append(f'# {cpod} -> {spod}\nexpect {cns}/{key[1]} {verb} {sns}/{key[3]} on {proto} {port}\n')
    used = {k[0] for k in seen} | {k[2] for k in seen}
    header = ''.join(f'namespace network-policy-conformance-{h}\nworkload {w} {{ conformance-house: {h} }}\n' for h, w in WORKLOAD.items() if f'network-policy-conformance-{h}' in used)
    text = f'# {short}, conformance/tests/{os.path.basename(f)}: "{title}"\n' + header + ''.join(lines)
    open(OUT + f'/expects/{name}.netpol', 'w').write(text)
    rust.append((name, files))
for name, files in rust:
    print(f'    ("{name}", &[{", ".join(chr(34)+x+chr(34) for x in files)}]),')
print(f'// {len(cases)} cases, {sum(len(c[7]) for c in cases)} pokes; steps left out: {skipped}', file=sys.stderr)
