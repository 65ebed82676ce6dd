"""Command line: python3 -m weft <command> ...

Commands:
  random-params MODULE.mlir -o OUT.safetensors [--seed N]
      draws every weft.param of MODULE (see weft.params) into an archive
  import-hf HF_DIR [--adapter PEFT_DIR]... -o OUT.mlir [--params OUT.safetensors]
            [--decode-tokens N]
      imports a Hugging Face checkpoint as a module with prefill and decode
      (decode's token count static with --decode-tokens)
  hf-logits HF_DIR --input-ids IDS.npy [--adapter PEFT_DIR]... [--adapter-ids A.npy]
            [--decode-last N] [--quantize int8|int4] [--target cpu|cuda]
            [--gpu-attention products|blocks|registers]
            [--gpu-ssm-scan tasks|per-channel|blocks|chunked] [--gpu-linear reductions|blocks]
            -o LOGITS.npy
      imports, compiles and runs a forward pass: int64 ids [batch, seq] ->
      float32 logits [batch, seq, vocab]
  generate HF_DIR --prompt-ids IDS --max-new-tokens N [--adapter PEFT_DIR]...
           [--adapter-ids A.npy] [--quantize ...] [--target ...]
      greedy generation with prefill + cached decode; prints the tokens and
      tokens/s for prefill and decode

Errors (missing or corrupt files, unsupported configs, mismatched adapters)
print one line "weft: error: ..." and exit with status 1.
  show-params ARCHIVE.safetensors
      prints the name, dtype and shape of every tensor of an archive, sorted
"""

import argparse
import os
import sys
import tempfile

import numpy as np

from weft import ir, params, runtime, safetensors, tools
from weft.hf.checkpoint import HFError


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


def _load_ids(path, what, ranks):
    if not os.path.isfile(path):
        raise HFError(f"{path}: {what} file not found")
    try:
        ids = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise HFError(f"{path}: cannot read {what} as .npy: {e}") from None
    if not np.issubdtype(ids.dtype, np.integer) or ids.ndim not in ranks:
        raise HFError(f"{path}: {what} must be an integer array of rank "
                      f"{' or '.join(map(str, ranks))}, got {ids.dtype}{list(ids.shape)}")
    if ids.size == 0:
        raise HFError(f"{path}: {what} is empty")
    return ids.astype(np.int64)


def _prompt_ids(text):
    if text.endswith(".npy"):
        ids = _load_ids(text, "prompt ids", (1, 2))
        return ids if ids.ndim == 2 else ids[None, :]
    try:
        rows = [[int(t) for t in row.split(",") if t.strip()] for row in text.split(";")]
    except ValueError:
        raise HFError(f"--prompt-ids {text!r}: expected comma-separated integers "
                      "(rows separated by ';') or a .npy file") from None
    if not rows or not rows[0] or any(len(r) != len(rows[0]) for r in rows):
        raise HFError(f"--prompt-ids {text!r}: rows must be non-empty and of equal length")
    return np.array(rows, dtype=np.int64)


def _import(args, decode_tokens=None):
    from weft.hf import import_model
    return import_model(args.hf_dir, adapters=args.adapter or (), decode_tokens=decode_tokens)


def _gpu_options(args):
    """weft-compile flags for the GPU forms of attention, the scan and
    quantized linear layers."""
    options = []
    for flag, value, default in (("--gpu-attention", args.gpu_attention, "products"),
                                 ("--gpu-ssm-scan", args.gpu_ssm_scan, "tasks"),
                                 ("--gpu-linear", args.gpu_linear, "reductions")):
        if value != default:
            if args.target != "cuda":
                raise HFError(f"{flag} {value} needs --target cuda")
            options.append(f"{flag}={value}")
    return options


def _compile(args, model, workdir, functions=("prefill", "decode")):
    from weft.hf.compiled import CompiledModel
    return CompiledModel(model, workdir, quantize=args.quantize, target=args.target,
                         functions=functions, compile_options=_gpu_options(args))


def _adapter_ids(args, batch):
    if not args.adapter_ids:
        if args.adapter and len(args.adapter) > 1:
            raise HFError("several --adapter given: pass --adapter-ids (one id per row)")
        return None
    ids = _load_ids(args.adapter_ids, "adapter ids", (1,))
    if ids.shape != (batch,):
        raise HFError(f"{args.adapter_ids}: expected {batch} adapter ids, got {ids.size}")
    return ids


def _import_hf(args):
    model = _import(args, decode_tokens=args.decode_tokens)
    with open(args.output, "w") as f:
        f.write(model.mlir)
    if args.params:
        model.write_params(args.params)
    print(f"{model.arch}: wrote {args.output}"
          + (f" and {len(model.sources.values)} parameters to {args.params}" if args.params
             else ""))


def _hf_logits(args):
    ids = _load_ids(args.input_ids, "input ids", (2,))
    from weft.hf.compiled import pipeline
    pipeline(args.quantize, args.target)
    _gpu_options(args)
    decoded = args.decode_last
    if decoded and not 0 < decoded < ids.shape[1]:
        raise HFError(f"--decode-last {decoded}: expected 1 to {ids.shape[1] - 1} for "
                      f"{ids.shape[1]} input ids per row")
    model = _import(args, decode_tokens=1 if decoded else None)
    adapter_ids = _adapter_ids(args, ids.shape[0])
    with tempfile.TemporaryDirectory(prefix="weft-hf-") as workdir:
        if decoded:
            compiled = _compile(args, model, workdir)
            logits = compiled.forward_cached(ids, decoded, adapter_ids)
        else:
            compiled = _compile(args, model, workdir, functions=("prefill",))
            logits = compiled.forward(ids, adapter_ids)
    np.save(args.output, logits.astype(np.float32))
    print(f"{model.arch}: logits {list(logits.shape)} written to {args.output}")


def _generate(args):
    prompt = _prompt_ids(args.prompt_ids)
    if args.max_new_tokens < 1:
        raise HFError("--max-new-tokens must be >= 1")
    from weft.hf.compiled import pipeline
    pipeline(args.quantize, args.target)
    _gpu_options(args)
    # One token per decode call: a static query count.
    model = _import(args, decode_tokens=1)
    adapter_ids = _adapter_ids(args, prompt.shape[0])
    with tempfile.TemporaryDirectory(prefix="weft-hf-") as workdir:
        compiled = _compile(args, model, workdir)
        tokens, stats = compiled.generate(prompt, args.max_new_tokens, adapter_ids)
    for row, (p, t) in enumerate(zip(prompt, tokens)):
        print(f"row {row}: prompt {p.tolist()} -> generated {t.tolist()}")
    print(f"prefill: {stats['prefill_tokens']} tokens in {stats['prefill_s'] * 1e3:.1f} ms "
          f"({stats['prefill_tokens'] / stats['prefill_s']:.1f} tokens/s)")
    if stats["decode_tokens"]:
        print(f"decode: {stats['decode_tokens']} tokens in {stats['decode_s'] * 1e3:.1f} ms "
              f"({stats['decode_tokens'] / stats['decode_s']:.1f} tokens/s)")


def _add_model_options(command):
    command.add_argument("hf_dir", metavar="HF_DIR")
    command.add_argument("--adapter", action="append", metavar="PEFT_DIR",
                         help="peft LoRA adapter (repeat for several)")


def _add_run_options(command):
    command.add_argument("--adapter-ids", metavar="IDS.npy",
                         help="int adapter index per batch row (-1: none), with several adapters")
    command.add_argument("--quantize", choices=["int8", "int4"])
    command.add_argument("--target", choices=["cpu", "cuda"], default="cpu")
    command.add_argument("--gpu-attention", choices=["products", "blocks", "registers"],
                         default="products",
                         help="cuda: attention as whole-tensor products, one fused kernel of "
                              "thread blocks, or with its state in registers where that "
                              "applies (FlashAttention-2 prefill, split-keys decoding)")
    command.add_argument("--gpu-ssm-scan", choices=["tasks", "per-channel", "blocks", "chunked"],
                         default="tasks", help="cuda: the form of the scan kernel")
    command.add_argument("--gpu-linear", choices=["reductions", "blocks"], default="reductions",
                         help="cuda: linear layers as warp reductions or kernels of thread "
                              "blocks (16-byte weight loads for decoding, tensor cores for "
                              "f16 prefill)")
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

    imp = commands.add_parser("import-hf", help="Hugging Face checkpoint -> weft module")
    _add_model_options(imp)
    imp.add_argument("-o", "--output", required=True, metavar="OUT.mlir")
    imp.add_argument("--params", metavar="OUT.safetensors",
                     help="also write the parameters the module uses (float32)")
    imp.add_argument("--decode-tokens", type=int, metavar="N",
                     help="decode takes exactly N new tokens per call (a static dim; "
                          "generation uses 1); dynamic by default")
    imp.set_defaults(run=_import_hf)

    logits = commands.add_parser("hf-logits", help="forward pass of a Hugging Face checkpoint")
    _add_model_options(logits)
    logits.add_argument("--input-ids", required=True, metavar="IDS.npy")
    logits.add_argument("-o", "--output", required=True, metavar="LOGITS.npy")
    logits.add_argument("--decode-last", type=int, default=0, metavar="N",
                        help="compute the last N positions by cached decode steps of one "
                             "token (as generation does) instead of prefill")
    _add_run_options(logits)
    logits.set_defaults(run=_hf_logits)

    gen = commands.add_parser("generate", help="greedy generation with cached decode")
    _add_model_options(gen)
    gen.add_argument("--prompt-ids", required=True,
                     help="'1,2,3' (rows separated by ';') or a .npy file")
    gen.add_argument("--max-new-tokens", type=int, required=True)
    _add_run_options(gen)
    gen.set_defaults(run=_generate)

    show = commands.add_parser(
        "show-params", help="names, dtypes and shapes of an archive's tensors")
    show.add_argument("archive")
    show.set_defaults(run=_show_params)
    args = parser.parse_args(argv)
    try:
        args.run(args)
    except (HFError, ir.IRError, tools.ToolError, runtime.WeftError,
            safetensors.SafetensorsError) as e:
        print(f"weft: error: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"weft: error: {e.filename or ''}: {e.strerror}", file=sys.stderr)
        return 1
    except Exception as e:  # noqa: BLE001 - still one line; WEFT_DEBUG=1 shows the traceback
        if os.environ.get("WEFT_DEBUG"):
            raise
        print(f"weft: error: unexpected {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
