"""spa-translate: mlir-translate for spa. Imports models into IR + weights, exports IR to runnable models.

  spa-translate --import-torch torchvision.models:resnet18 --input-shape 1,3,224,224 --seed 0 -o r18.mlir
  spa-translate --import-onnx model.onnx -o m.mlir          spa-translate --import-pt2 model.pt2 -o m.mlir
  spa-translate --import-torch torchvision.models:googlenet --input-shape 2,3,64,64 --train -o g.mlir
  spa-translate --import-torch torchvision.models:resnet18 --input-shape 1,3,24,24 --dynamic-batch -o r18.mlir
  spa-translate --import-torch my_models:bert --input-shape 1,8 --input-shape 1,8 --input-dtype int64 \
      --input-dtype int64 --dynamic-batch --dynamic input_ids:1=seq attention_mask:1=seq -o bert.mlir
  spa-translate --export-torch r18.mlir -o r18.pt2          spa-translate --export-onnx r18.mlir -o r18.onnx
  spa-translate --export-torch-mlir r18.mlir -o r18.torch.mlir
  spa-translate --export-torch-mlir r18.mlir --lower linalg -o r18.linalg.mlir     (or tosa, stablehlo)

`--export-onnx` of IR imported from ONNX writes the original file's graph, pruned (same node, input and output
names, opset and dynamic dims; the original must be where it was imported from, unchanged); `--via-torch`
re-exports through PyTorch instead. `--train` captures the model in training mode: what runs only in training
(aux heads, dropout) is in the IR, batch norms normalize by batch statistics and the emitted module updates their
running statistics as nn.BatchNorm does (use a batch of 2 or more). `--dynamic-batch` makes dim 0 of every input
dynamic (one shared torch.export Dim "batch"), `--dynamic INPUT:AXIS=NAME` any other dim (INPUT an index or the
forward's argument name; the same NAME ties dims): the IR says `?`, the exported .pt2 and ONNX keep them dynamic,
ONNX dim_params carry the names; a channel dim asked dynamic is refused. Every imported `x.mlir` gets its weights
beside it in `x.safetensors`.
Errors are one line, exit code 1, and no output file is left half-written.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from spa_ir.core.errors import SpaError

if TYPE_CHECKING:
    from spa_ir.core.program import Program


def _shape(text: str) -> list[int]:
    try:
        dims = [int(d) for d in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers like 1,3,224,224, got '{text}'") from None
    if not dims or any(d <= 0 for d in dims):
        raise argparse.ArgumentTypeError(f"dimensions must be positive, got '{text}'")
    return dims


def _dynamic_axis(text: str) -> tuple[str, int, str]:
    """`INPUT:AXIS=NAME` -> (INPUT, AXIS, NAME); INPUT an index or a name, NAME an identifier (torch.export's Dim)."""
    which, _, rest = text.partition(":")
    axis, eq, name = rest.partition("=")
    try:
        number = int(axis)
    except ValueError:
        number = None
    if not which or number is None or not eq or not name.isidentifier():
        raise argparse.ArgumentTypeError(f"expected INPUT:AXIS=NAME like 0:0=batch or input_ids:1=seq, got '{text}'")
    return which, number, name


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="spa-translate", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--import-torch", metavar="MODULE:CALLABLE", help="build a model by calling MODULE.CALLABLE()")
    mode.add_argument("--import-onnx", metavar="FILE", help="import an ONNX model")
    mode.add_argument("--import-pt2", metavar="FILE", help="import a saved torch.export ExportedProgram")
    mode.add_argument("--export-torch", metavar="MLIR", help="emit a .pt2 ExportedProgram")
    mode.add_argument("--export-onnx", metavar="MLIR", help="emit an ONNX model")
    mode.add_argument(
        "--export-torch-mlir", metavar="MLIR", help="emit torch-dialect MLIR that torch-mlir's pipelines lower"
    )
    p.add_argument("--input-shape", type=_shape, action="append", help="shape of each model input (repeat per input)")
    p.add_argument("--input-dtype", action="append", help="dtype of each input (default float32), e.g. int64")
    p.add_argument("--seed", type=int, default=0, help="seed for the random weights of --import-torch")
    p.add_argument(
        "--train",
        action="store_true",
        help="--import-torch: capture in training mode (aux heads, dropout, batch-statistic batch norms)",
    )
    p.add_argument(
        "--dynamic-batch",
        action="store_true",
        help='--import-torch: dim 0 of every input dynamic (one torch.export Dim "batch" for all)',
    )
    p.add_argument(
        "--dynamic",
        type=_dynamic_axis,
        nargs="+",
        action="append",
        metavar="INPUT:AXIS=NAME",
        help="--import-torch: that axis of that input (index or name) dynamic, as torch.export's Dim(NAME); "
        "the same NAME ties dims (repeatable)",
    )
    p.add_argument(
        "--via-torch",
        action="store_true",
        help="--export-onnx of IR imported from ONNX: re-export through PyTorch instead of pruning the original graph",
    )
    p.add_argument(
        "--lower",
        choices=("linalg", "tosa", "stablehlo"),
        help="--export-torch-mlir: write it lowered by torch-mlir's pipelines to linalg-on-tensors, TOSA or StableHLO",
    )
    p.add_argument("-o", "--output", help="output file (MLIR goes to stdout when omitted)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def _example_inputs(shapes: list[list[int]] | None, dtypes: list[str] | None) -> list[Any]:
    import torch

    from spa_ir.frontends.torch import random_input

    if not shapes:
        raise SpaError("--import-torch needs --input-shape (e.g. --input-shape 1,3,224,224)")
    dtypes = dtypes or []
    inputs = []
    for i, shape in enumerate(shapes):
        name = dtypes[i] if i < len(dtypes) else "float32"
        dtype = getattr(torch, name, None)
        if not isinstance(dtype, torch.dtype):
            raise SpaError(f"unknown --input-dtype '{name}'")
        inputs.append(random_input(shape, dtype, torch.Generator().manual_seed(i)))
    return inputs


def _dynamic_shapes(args: argparse.Namespace, model: Any, inputs: list[Any]) -> Any:
    """torch.export's dynamic_shapes for --dynamic-batch / --dynamic, or None without them."""
    if not args.dynamic_batch and not args.dynamic:
        return None
    from spa_ir.frontends.dynamic_shapes import named_dims

    axes = [axis for group in args.dynamic or [] for axis in group]
    return named_dims(model, inputs, axes, batch=args.dynamic_batch)


def _write_mlir(program: Program, output: str | None) -> None:
    if output is None:
        if program.external_weight_names():
            raise SpaError("the imported IR has weights: give -o FILE.mlir so they can be written beside it")
        sys.stdout.write(program.text(debuginfo=True))
    else:
        program.save(output)


def run(args: argparse.Namespace) -> None:
    from spa_ir import api

    if args.train and not args.import_torch:
        raise SpaError("--train applies to --import-torch only (a .pt2 or ONNX file was captured in its own mode)")
    if args.lower and not args.export_torch_mlir:
        raise SpaError("--lower applies to --export-torch-mlir only")
    if (args.dynamic_batch or args.dynamic) and not args.import_torch:
        raise SpaError("--dynamic-batch and --dynamic apply to --import-torch only (a .pt2 or ONNX file has its own)")
    if args.import_torch:
        model = api.build_model(args.import_torch, args.seed)
        inputs = _example_inputs(args.input_shape, args.input_dtype)
        dynamic = _dynamic_shapes(args, model, inputs)
        program = api.import_torch(model, inputs, args.import_torch, train=args.train, dynamic_shapes=dynamic)
        return _write_mlir(program, args.output)
    if args.import_onnx:
        return _write_mlir(api.import_onnx(args.import_onnx), args.output)
    if args.import_pt2:
        return _write_mlir(api.import_pt2(args.import_pt2), args.output)

    from spa_ir.backends import export

    source = args.export_torch or args.export_onnx or args.export_torch_mlir
    program = api.load(source)
    if args.export_torch_mlir:
        from spa_ir.backends.torch_mlir import lower, to_text

        text = lower(program, args.lower) if args.lower else to_text(program)
        if args.output is None:
            sys.stdout.write(text)
        else:
            from spa_ir.core.fileio import write_text_atomic

            write_text_atomic(args.output, text)
        return
    if args.output is None:
        raise SpaError("give -o FILE for the exported model")
    if args.export_torch:
        export.save_pt2(program, args.output)
    else:
        export.save_onnx(program, args.output, via_torch=args.via_torch)


@contextlib.contextmanager
def _held_stderr() -> Iterator[None]:
    """Hold what libraries write to stderr meanwhile (torch prints partial graphs and logs warnings
    when a capture fails): it is passed on unless the command fails with a SpaError, whose one-line
    message is then all the user sees."""
    from spa_ir.core import progress

    sys.stderr.flush()
    saved = os.dup(2)
    bars = os.fdopen(os.dup(saved), "w")  # progress bars go to the user's stderr, live
    progress.set_stream(bars)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        user_error = False
        try:
            yield
        except SpaError:
            user_error = True
            raise
        finally:
            sys.stderr.flush()
            progress.set_stream(None)
            bars.close()
            os.dup2(saved, 2)
            os.close(saved)
            if not user_error:
                held.seek(0)
                sys.stderr.buffer.write(held.read())
                sys.stderr.flush()


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from spa_ir.core.progress import set_quiet

    set_quiet(args.quiet)
    try:
        with _held_stderr():
            run(args)
    except SpaError as e:
        print(f"spa-translate: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
