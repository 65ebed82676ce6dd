"""Command line: python3 -m weft <command> ...

Commands:
  random-params MODULE.mlir -o OUT.safetensors [--seed N]
      draws every weft.param of MODULE (see weft.params) into an archive
"""

import argparse
import sys

from weft import params, safetensors


def _random_params(args):
    try:
        with open(args.module) as f:
            text = f.read()
    except OSError as e:
        raise SystemExit(f"weft: error: cannot read {args.module}: {e.strerror}")
    try:
        values = params.random_params(text, seed=args.seed)
    except ValueError as e:
        raise SystemExit(f"weft: error: {args.module}: {e}")
    if not values:
        raise SystemExit(f"weft: error: {args.module} has no weft.param")
    safetensors.save(args.output, values)
    print(f"wrote {len(values)} parameters to {args.output}")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python3 -m weft")
    commands = parser.add_subparsers(dest="command", required=True)
    random = commands.add_parser(
        "random-params", help="random values for every weft.param of a module")
    random.add_argument("module")
    random.add_argument("-o", "--output", required=True)
    random.add_argument("--seed", type=int, default=0)
    random.set_defaults(run=_random_params)
    args = parser.parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    sys.exit(main())
