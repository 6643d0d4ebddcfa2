"""Comparison of netpol's `matrix --as csv` with NCA's connectivity map (as `nca_matrix.py`
writes it), pair by pair.

Port sets are compared as numeric ranges per protocol (TCP, UDP, SCTP; ports 1-65535), read
from netpol's PortSet text (`all ports`, `no ports`, `tcp`, `tcp 80, 8000-8100 and udp 53`).
Port names in netpol's text (`every named port`, a name) are left out: the generator writes
numeric ports only, and NCA's answers are numeric.

The checks, for every ordered pair of distinct endpoints among the inventory's pods and the
IPv4 addresses netpol names (an address stands for the NCA address range that holds it, for
that pair; pairs of two addresses are not policed and not reported by NCA):
- sound: whatever NCA allows, netpol says is possibly allowed (NCA <= possible);
- sound: whatever netpol says is certainly allowed, NCA allows (certain <= NCA);
- consistent: what netpol says is certainly allowed it says is possibly allowed;
- exact, for pairs of a pod and an address, and for pod-to-pod pairs where no rule names an
  address block: certain == possible == NCA. Where a rule does name one, netpol leaves open
  whether a pod's address lies in it, so its pod-to-pod answer may be open where NCA, which
  never puts a pod in an address block, decides.
"""
import csv
import io
import ipaddress

PROTOCOLS = ("tcp", "udp", "sctp")
FULL = ((1, 65535),)


def merge(ranges):
    out = []
    for a, b in sorted(ranges):
        if out and a <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return tuple(out)


def parse_ports(text):
    """netpol's PortSet text as {protocol: ((lo, hi), ...)} over numeric ports."""
    text = text.strip()
    out = {p: () for p in PROTOCOLS}
    if text in ("", "no ports"):
        return out
    if text == "all ports":
        return {p: FULL for p in PROTOCOLS}
    for part in text.split(" and "):
        part = part.strip()
        proto, _, rest = part.partition(" ")
        if proto not in PROTOCOLS:
            raise ValueError(f"unreadable port set {text!r} (part {part!r})")
        if not rest:
            out[proto] = FULL
            continue
        ranges = []
        for item in rest.split(", "):
            a, dash, b = item.partition("-")
            if a.isdigit() and (not dash or b.isdigit()):
                ranges.append((int(a), int(b) if dash else int(a)))
            # anything else is a port name or "every named port [but ...]": not compared
        out[proto] = merge(list(out[proto]) + ranges)
    return out


def subtract(a, b):
    """Ranges of `a` not in `b`."""
    out = []
    for lo, hi in a:
        cur = lo
        for blo, bhi in b:
            if bhi < cur or blo > hi:
                continue
            if blo > cur:
                out.append((cur, blo - 1))
            cur = max(cur, bhi + 1)
            if cur > hi:
                break
        if cur <= hi:
            out.append((cur, hi))
    return tuple(out)


def minus(a, b):
    return {p: subtract(a[p], b[p]) for p in PROTOCOLS}


def is_empty(s):
    return all(not s[p] for p in PROTOCOLS)


def show(s):
    if all(s[p] == FULL for p in PROTOCOLS):
        return "all ports"
    parts = []
    for p in PROTOCOLS:
        if s[p] == FULL:
            parts.append(p)
        elif s[p]:
            parts.append(p + " " + ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in s[p]))
    return " and ".join(parts) or "no ports"


def range_of(name):
    """NCA's `first-last` address range as (first, last) integers, or None for a pod."""
    a, dash, b = name.partition("-")
    if not dash or ipv4(a) is None or ipv4(b) is None:  # a pod, or IPv6 (not compared)
        return None
    return int(ipv4(a)), int(ipv4(b))


# NCA adds a pod of its own for the cluster DNS, `kube-system/kube-dns-livesim` (labelled
# `k8s-app: kube-dns`), when a policy names that label; netpol's universe always holds one,
# `kube-dns`.
ALIASES = {"kube-system/kube-dns-livesim": "kube-dns"}


def read_nca(text):
    """{(from, to): ports} as nca_matrix.py writes them, pods named as netpol names them. An
    address range is not a fixed cell: NCA splits the address space per pair, so one address
    lies in different ranges for different pairs."""
    return {(ALIASES.get(row["from"], row["from"]), ALIASES.get(row["to"], row["to"])):
            parse_ports(row["ports"]) for row in csv.DictReader(io.StringIO(text))}


def nca_ports(nca, a, b):
    """What NCA allows from `a` to `b`, where either may be one IPv4 address."""
    if ipv4(a) is None and ipv4(b) is None:
        return nca.get((a, b), parse_ports(""))
    out = parse_ports("")

    def covers(end, name):
        ip = ipv4(end)
        if ip is None:
            return end == name
        r = range_of(name)
        return r is not None and r[0] <= int(ip) <= r[1]

    for (x, y), ports in nca.items():
        if covers(a, x) and covers(b, y):
            out = {p: merge(out[p] + ports[p]) for p in PROTOCOLS}
    return out


def read_netpol(text):
    """{(from, to): (certain, possible)}."""
    rows = csv.DictReader(io.StringIO(text))
    want = ["from", "to", "certain", "possible"]
    if rows.fieldnames != want:
        raise ValueError(f"netpol's CSV header is {rows.fieldnames}, expected {want}")
    return {(row["from"], row["to"]): (parse_ports(row["certain"]), parse_ports(row["possible"]))
            for row in rows}


def ipv4(name):
    try:
        return ipaddress.IPv4Address(name)
    except ValueError:
        return None


def compare(pods, addresses, nca_text, netpol_text, exact_pods):
    """The disagreements, as readable lines; and counts of what was compared. `addresses`: the
    IPv4 addresses to compare besides those netpol's answer names."""
    nca = read_nca(nca_text)
    netpol = read_netpol(netpol_text)
    names = {n for pair in netpol for n in pair} | set(addresses)
    addresses = sorted({n for n in names if ipv4(n) is not None}, key=lambda n: int(ipv4(n)))

    problems, stats = [], {"pairs": 0, "exact": 0, "imprecise": 0}
    # The DNS pod, where NCA has one (see ALIASES).
    extra = [a for a in ALIASES.values() if any(a in pair for pair in nca)]
    ends = list(pods) + extra + addresses
    empty = parse_ports("")
    for a in ends:
        for b in ends:
            if a == b or (a in addresses and b in addresses):
                continue
            stats["pairs"] += 1
            theirs = nca_ports(nca, a, b)
            certain, possible = netpol.get((a, b), (empty, empty))
            label = f"{a} -> {b}"
            answers = (f"NCA allows {show(theirs)}; netpol: certainly {show(certain)}, "
                       f"possibly {show(possible)}")
            if not is_empty(minus(theirs, possible)):
                problems.append(f"{label}: NCA allows {show(minus(theirs, possible))} that netpol "
                                f"says is not even possibly allowed\n      {answers}")
            if not is_empty(minus(certain, theirs)):
                problems.append(f"{label}: netpol says {show(minus(certain, theirs))} is certainly "
                                f"allowed, NCA denies it\n      {answers}")
            if not is_empty(minus(certain, possible)):
                problems.append(f"{label}: netpol says {show(minus(certain, possible))} is certainly "
                                f"allowed but not possibly allowed\n      {answers}")
            pod_pair = a not in addresses and b not in addresses
            if exact_pods or not pod_pair:
                stats["exact"] += 1
                extra = minus(possible, theirs)
                why = "no address block in play" if pod_pair else "an address is no pod"
                if not is_empty(extra):
                    problems.append(f"{label}: netpol says {show(extra)} is possibly allowed, NCA "
                                    f"denies it ({why})\n      {answers}")
                short = minus(theirs, certain)
                if not is_empty(short):
                    problems.append(f"{label}: netpol says {show(short)} is only possibly allowed, "
                                    f"NCA allows it ({why})\n      {answers}")
            if certain != possible:
                stats["imprecise"] += 1
    return problems, stats
