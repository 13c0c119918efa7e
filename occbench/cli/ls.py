"""``occbench ls``: registered sources, generators (hole masks, occlusion synthesis), methods, recipes, or the
shipped protocols."""

from __future__ import annotations

import argparse


def run(args: argparse.Namespace) -> int:
    if args.what == "protocols":
        from occbench.protocol import load_protocol, shipped_protocols

        for name in shipped_protocols():
            protocol = load_protocol(name)
            description = (protocol.resolved.get("description") or "").strip().splitlines()
            print(f"{name:<40} v{protocol.version}  {protocol.short_hash}  {description[0] if description else ''}")
        return 0
    from occbench.registry import REGISTRIES

    registry = REGISTRIES[args.what]
    for name in registry.names():
        print(f"{name:<16} {registry.describe(name)}".rstrip())
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("ls", help="list registered sources, generators, methods, recipes, metrics or shipped "
                                       "protocols", epilog="example: occbench ls methods")
    parser.add_argument("what", choices=["sources", "generators", "methods", "recipes", "metrics", "protocols"],
                        help="recipes: the networks occbench train can train")
    parser.set_defaults(func=run)
