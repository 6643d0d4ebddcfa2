#!/usr/bin/env python3
"""Run IBM's network-config-analyzer (NCA, `pip install network-config-analyzer==2.1.0`) and write
its connectivity map as CSV in netpol's terms: `from,to,ports`, one line per ordered pair of
endpoints NCA allows on some port.

NCA's own text outputs either merge pairs into firewall rules or print a port set as the shorter
of itself and its complement ("All but {...}"), so this wrapper runs NCA's `--connectivity` query
with `--output_format txt_no_fw_rules` and replaces that format's writer
(`ConnectivityMapQuery.txt_no_fw_rules_format_from_props`) with one that reads the allowed
connection properties of each pair directly: per protocol (TCP, UDP, SCTP) the projection on
`dst_ports`. Other protocols (ICMP...) are not compared: netpol's port sets hold these three.

Names: NCA's `ns/name[Pod]` becomes `ns/name`, `ns/name[Deployment]` becomes
`ns/name(Deployment)` (netpol's inventory names); with `--output_endpoints pods`, every pod is
`ns/name`. An address range stays `first-last`.
Ports are written as netpol's PortSet text: `all ports`, `tcp 80, 8000-8100 and udp 53`.

Usage: nca_matrix.py OUT.csv NCA-ARGS...   (e.g. --resource_list dir/)
"""
import sys

from nca import nca_cli
from nca.CoreDS.ConnectivityProperties import ConnectivityProperties
from nca.CoreDS.Peer import IpBlock
from nca.CoreDS.ProtocolSet import ProtocolSet
from nca.FWRules.ConnectivityGraph import ConnectivityGraph
from nca.NetworkConfig.NetworkConfigQuery import ConnectivityMapQuery

PROTOCOLS = ("TCP", "UDP", "SCTP")
FULL = [(1, 65535)]


def peer_name(peer, by_pod):
    if isinstance(peer, IpBlock):
        return peer.get_ip_range_or_cidr_str(True)
    if by_pod:
        return peer.full_name()  # `ns/name`
    name = peer.workload_name  # `ns/name(Pod)`, `ns/name(Deployment)`
    if name.endswith("(Pod)"):
        return name[: -len("(Pod)")]
    return name


def port_ranges(props, protocol):
    """The destination ports of `protocol` that `props` allows, as sorted inclusive ranges."""
    only = ConnectivityProperties.make_conn_props_from_dict(
        {"protocols": ProtocolSet.get_protocol_set_with_single_protocol(protocol)})
    part = props & only
    if not part:
        return []
    ports = part.project_on_one_dimension("dst_ports")
    if hasattr(ports, "port_set"):  # a PortSet where the dimension is active, else the domain
        assert not ports.named_ports, "named ports are not generated"
        ports = ports.port_set
    return [(iv.start, iv.end) for iv in ports]


def merge(ranges):
    out = []
    for a, b in sorted(ranges):
        if out and a <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def port_text(by_protocol):
    if all(merge(by_protocol.get(p, [])) == FULL for p in PROTOCOLS):
        return "all ports"
    parts = []
    for p in PROTOCOLS:
        ranges = merge(by_protocol.get(p, []))
        if not ranges:
            continue
        if ranges == FULL:
            parts.append(p.lower())
        else:
            items = [str(a) if a == b else f"{a}-{b}" for a, b in ranges]
            parts.append(f"{p.lower()} {', '.join(items)}")
    return " and ".join(parts)


def main():
    out_path, nca_args = sys.argv[1], sys.argv[2:]
    # `--output_endpoints pods`: each pod by its own name (for inventories of Pods whose owners
    # are not in them, as `kubectl get pods` lists them), else by the workload that owns it.
    by_pod = "pods" in [b for a, b in zip(nca_args, nca_args[1:]) if a == "--output_endpoints"]
    pairs = {}

    def writer(self, props, peers, connectivity_restriction=None):
        assert connectivity_restriction is None, "NCA split the map by TCP; not expected here"
        graph = ConnectivityGraph(peers, self.config.get_allowed_labels(), self.output_config)
        graph.add_props_to_graph(props, self.config.peer_container)
        for conn, peer_pairs in graph.props_to_peers.items():
            if not conn:
                continue
            ranges = {p: port_ranges(conn, p) for p in PROTOCOLS}
            for src, dst in peer_pairs:
                key = (peer_name(src, by_pod), peer_name(dst, by_pod))
                if key[0] == key[1]:
                    continue
                acc = pairs.setdefault(key, {p: [] for p in PROTOCOLS})
                for p in PROTOCOLS:
                    acc[p].extend(ranges[p])
        return ""

    ConnectivityMapQuery.txt_no_fw_rules_format_from_props = writer
    rc = nca_cli.nca_main(["--connectivity", "-o", "txt_no_fw_rules", "--return_0"] + nca_args)
    with open(out_path, "w") as f:
        f.write("from,to,ports\n")
        for (src, dst), ranges in sorted(pairs.items()):
            text = port_text(ranges)
            if text:
                f.write(f'{src},{dst},"{text}"\n')
    return rc


if __name__ == "__main__":
    sys.exit(main())
