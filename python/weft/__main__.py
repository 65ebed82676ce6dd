"""Command line: python3 -m weft <command> ...

Commands:
  random-params MODULE.mlir -o OUT.safetensors [--seed N]
      draws every weft.param of MODULE (see weft.params) into an archive
  show-params ARCHIVE.safetensors
      prints the name, dtype and shape of every tensor of an archive, sorted
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


def _show_params(args):
    try:
        tensors, metadata = safetensors.load(args.archive)
    except safetensors.SafetensorsError as e:
        raise SystemExit(f"weft: error: {e}")
    for name in sorted(tensors):
        shape = ", ".join(str(d) for d in tensors[name].shape)
        print(f"{name} {tensors[name].dtype}[{shape}]")
    for key in sorted(metadata):
        print(f"__metadata__ {key} = {metadata[key]}")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python3 -m weft")
    commands = parser.add_subparsers(dest="command", required=True)
    random = commands.add_parser(
        "random-params", help="random values for every weft.param of a module")
    random.add_argument("module")
    random.add_argument("-o", "--output", required=True)
    random.add_argument("--seed", type=int, default=0)
    random.set_defaults(run=_random_params)
    show = commands.add_parser(
        "show-params", help="names, dtypes and shapes of an archive's tensors")
    show.add_argument("archive")
    show.set_defaults(run=_show_params)
    args = parser.parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    sys.exit(main())
