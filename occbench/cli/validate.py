"""``occbench validate``: check protocol files and print their content hash."""

from __future__ import annotations

import argparse


def run(args: argparse.Namespace) -> int:
    import yaml

    from occbench.protocol import load_protocol

    for name in args.protocols:
        protocol = load_protocol(name)
        print(f"{protocol.path}: ok  {protocol.name} v{protocol.version}  sha256:{protocol.content_hash}")
        if args.show:
            print(yaml.safe_dump(dict(protocol.resolved), sort_keys=False).rstrip())
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("validate", help="check protocol files and print their content hash",
                            epilog="example: occbench validate celebahq-center-256 --show")
    parser.add_argument("protocols", nargs="+", metavar="PROTOCOL", help="shipped name or path to a YAML file")
    parser.add_argument("--show", action="store_true", help="print the resolved protocol")
    parser.set_defaults(func=run)
