"""spa-opt: mlir-opt for spa, built on xDSL's opt driver.

Only spa's dialects, passes and pipelines are registered; a named pipeline (`spa-prune-groups{...}`) is
expanded into its passes before anything runs. Each input chunk is loaded as a Program (Program.from_module:
the weights file beside the input, `x.mlir` -> `x.safetensors`, or `--weights FILE`), and its pipeline runs
in a SpaContext holding that program's weights; they are written beside `-o` when the output has weights.
mlir-opt style `--<pass-name>[=opts]` flags append to the `-p` pipeline, in order. Output files are written
atomically: on any error nothing is left behind. Calibration statistics are read from beside the input
(`x.stats.safetensors`) and written beside `-o` while they match its IR; `--calib FILE` (with `--calib-batch`,
`--loss`) is the data spa-collect-stats runs the model on, checked against the input's IR before any pass runs.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING

from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Dialect
from xdsl.passes import PassPipeline
from xdsl.utils.exceptions import DiagnosticException, ParseError, VerifyException
from xdsl.xdsl_opt_main import xDSLOptMain

from spa_ir.core.errors import SpaError, first_line, located_parse_error

if TYPE_CHECKING:
    from spa_ir.calibration.data import Calibration
    from spa_ir.core.plan import Plan
    from spa_ir.core.program import Program
    from spa_ir.reporting import Report


class _Captured(io.StringIO):
    """An output buffer the driver may 'close' without losing what was written."""

    def close(self) -> None:  # the xDSL driver closes non-stdout streams
        pass


def _pass_flags_to_pipeline(argv: Sequence[str], pass_names: set[str]) -> list[str]:
    """Turn `--prune-groups=ratio=0.5 ...` style flags into `-p` pipeline entries (mlir-opt convention)."""
    rest: list[str] = []
    pipeline: list[str] = []
    i = 0
    argv = list(argv)
    while i < len(argv):
        arg = argv[i]
        if arg in ("-p", "--passes") and i + 1 < len(argv):
            pipeline.append(argv[i + 1])
            i += 2
            continue
        if arg.startswith("--passes=") or (arg.startswith("-p") and len(arg) > 2 and not arg.startswith("--")):
            pipeline.append(arg.split("=", 1)[1] if arg.startswith("--passes=") else arg[2:])
            i += 1
            continue
        if (arg == "--apply-plan" and i + 1 < len(argv)) or arg.startswith("--apply-plan="):
            from spa.passes.apply_plan import pipeline_for

            pipeline.append(pipeline_for(argv[i + 1] if arg == "--apply-plan" else arg.split("=", 1)[1]))
            i += 2 if arg == "--apply-plan" else 1
            continue
        name, eq, opts = arg[2:].partition("=")
        if arg.startswith("--") and name in pass_names:
            opts = _unquoted(opts.strip())
            pipeline.append(f"{name}{{{opts}}}" if opts else name)
        else:
            rest.append(arg)
        i += 1
    return rest + (["-p", ",".join(p for p in pipeline if p)] if pipeline else [])


class SpaOptMain(xDSLOptMain):
    def __init__(self, args: Sequence[str] | None = None):
        from spa.passes import ALL_PASSES, PIPELINES

        argv = list(sys.argv[1:] if args is None else args)
        flags = _pass_flags_to_pipeline(argv, set(ALL_PASSES) | set(PIPELINES))
        self._programs: list[Program] = []
        self._before: list[Program] = []  # each program as parsed, kept for --report / --report-json / --plot
        self._calib: Calibration | None = None
        description = f"spa-opt: run spa passes over torch-dialect IR (pipelines: {', '.join(PIPELINES)})"
        super().__init__(description=description, args=flags)
        self._out = _Captured()

    def register_all_dialects(self) -> None:
        from spa_ir.core.context import DIALECTS

        for dialect in DIALECTS:
            self.ctx.register_dialect(dialect.name, _constant(dialect))

    def register_all_frontends(self) -> None:
        from spa_ir.core.parsing import SpaParser

        super().register_all_frontends()

        def parse_mlir(io: IO[bytes]) -> ModuleOp:
            parser = SpaParser(self.ctx, io.read(), self.get_input_name())
            self._op_spans = parser.op_spans  # for located verification errors
            return parser.parse_module(not self.args.no_implicit_module)

        self.available_frontends["mlir"] = parse_mlir

    def register_all_passes(self) -> None:
        from spa.passes import ALL_PASSES

        for name, factory in ALL_PASSES.items():
            self.register_pass(name, factory)

    def setup_pipeline(self) -> None:
        """xDSL's pipeline (its callback verifies, prints between passes, times them), with named pipelines
        expanded into their passes first."""
        from spa.passes import parse_pipeline

        text, self.args.passes = self.args.passes, ""
        super().setup_pipeline()
        self.args.passes = text
        self.pipeline = PassPipeline(parse_pipeline(text, self.available_passes), self.pipeline.callback)

    def register_all_arguments(self, arg_parser: argparse.ArgumentParser) -> None:
        super().register_all_arguments(arg_parser)
        arg_parser.add_argument(
            "--weights", help="weights file of the input (default: beside it, same stem, .safetensors)"
        )
        arg_parser.add_argument(
            "--strip-debuginfo",
            action="store_true",
            help="print without op locations (they are printed when the input has any)",
        )
        arg_parser.add_argument(
            "--plan",
            metavar="FILE",
            help="write the pruning plan (JSON) of --prune-groups / spa-eliminate-dead-channels",
        )
        arg_parser.add_argument(  # for --help: the flag is turned into its pipeline before parsing
            "--apply-plan",
            metavar="FILE",
            help="re-apply a saved plan (and FILE's .safetensors beside it) to an IR of the architecture it was made "
            "on: spa-propagate-channels, spa-form-groups, spa-apply-plan{plan=FILE}, spa-eliminate-dead-channels",
        )
        arg_parser.add_argument(
            "--calib",
            metavar="FILE",
            help="calibration data for spa-collect-stats (.pt: tensor, tuple or {inputs, targets}; .npz by input name)",
        )
        arg_parser.add_argument(
            "--calib-batch", type=int, default=32, metavar="N", help="samples per calibration forward (default 32)"
        )
        arg_parser.add_argument(
            "--loss",
            choices=("cross-entropy", "mse", "output-norm"),
            help="calibration loss (default: cross-entropy on the targets, else on the model's own prediction)",
        )
        arg_parser.add_argument(
            "--device",
            metavar="DEVICE",
            help="where spa-collect-stats and spa-obspa-compensate run the model: cpu (default), cuda, cuda:N",
        )
        arg_parser.add_argument(
            "--report", action="store_true", help="print what pruning did (per group and layer, totals) on stderr"
        )
        arg_parser.add_argument("--report-json", metavar="FILE", help="write that report as JSON")
        arg_parser.add_argument("--plot", metavar="FILE.png", help="write a PNG of per-layer widths before and after")
        arg_parser.add_argument("--quiet", action="store_true", help="no progress bars, no summary lines")

    def parse_chunk(self, chunk: IO[bytes], file_extension: str, start_offset: int = 0) -> ModuleOp | None:
        from spa_ir.core.parsing import verify_located
        from spa_ir.core.program import Program, weights_path_for

        module = super().parse_chunk(chunk, file_extension, start_offset)
        if module is None:
            return None
        if self.args.verify_diagnostics:
            module.verify()  # a chunk that does not verify is reported by the driver, before its weights are checked
        elif not self.args.disable_verify:
            verify_located(module, getattr(self, "_op_spans", {}), self.get_input_name(), start_offset)
        if not self.args.strip_debuginfo and _has_locations(module):
            self.args.print_debuginfo = True
        wpath = (
            Path(self.args.weights)
            if self.args.weights
            else (weights_path_for(self.args.input_file) if self.args.input_file else None)
        )
        from spa_ir.calibration.store import stats_path_for

        spath = stats_path_for(self.args.input_file) if self.args.input_file else None
        program = Program.from_module(module, wpath, self.get_input_name(), stats_path=spath)
        if self.args.device is not None:
            from spa_ir.calibration.device import resolve_device

            resolve_device(self.args.device)  # a device this machine lacks fails here, before any pass
        if self.args.calib:
            from spa_ir.calibration.data import load_calibration

            if self._calib is None:
                self._calib = load_calibration(self.args.calib, batch=self.args.calib_batch, loss=self.args.loss)
            self._calib.bind(module)  # a file that does not fit the model fails here, before any pass
        self._programs.append(program)
        return module

    def apply_passes(self, prog: ModuleOp) -> None:
        """Run the pipeline over the chunk just parsed, in a context holding its program's weights."""
        program = self._programs[-1]
        assert program.module is prog
        if _wants_report(self.args):
            from spa_ir.reporting import snapshot

            self._before.append(snapshot(program))
        program.run(self.pipeline, self.ctx, calib=self._calib, device=self.args.device)

    def _weights_files(self) -> list[Path]:
        """The weights files this run reads or writes: the input's (or --weights) and, when the output has stored
        weights, the one beside -o."""
        from spa_ir.core.program import weights_path_for

        given = Path(self.args.weights) if self.args.weights else None
        read = given or (weights_path_for(self.args.input_file) if self.args.input_file else None)
        files = [read] if read is not None and read.exists() else []
        written = self.args.output_file and any(p.external_weight_names() for p in self._programs)
        return files + ([weights_path_for(self.args.output_file)] if written else [])

    def prepare_output(self) -> IO[str]:
        return self._out

    def run(self) -> None:
        from spa_ir.core.fileio import write_text_atomic
        from spa_ir.core.progress import set_quiet

        set_quiet(self.args.quiet)
        if _wants_report(self.args) and "spa-eliminate-dead-channels" not in {p.name for p in self.pipeline.passes}:
            raise SpaError(_REPORT_NEEDS_PRUNING)  # before the passes run, which may take long
        self._programs.clear()
        self._before.clear()
        # The driver prints diagnostics (--verify-diagnostics) to stdout as it goes: keep them in order with the IR.
        to_stdout = self.args.output_file is None and (self.args.verify_diagnostics or self.args.parsing_diagnostics)
        with contextlib.redirect_stdout(self._out) if to_stdout else contextlib.nullcontext():
            super().run()
        text = self._out.getvalue().rstrip("\n") + "\n"
        if self.args.plan and (len(self._programs) != 1 or self._programs[0].plan is None):
            raise SpaError(
                "--plan needs one input and a pipeline that prunes (--prune-groups or spa-eliminate-dead-channels)"
            )
        if self.args.plan:
            _check_plan_path(self.args.plan, self._weights_files())
        report = self._report() if _wants_report(self.args) else None
        if self.args.output_file is None:
            if any(p.weights_modified for p in self._programs):
                raise SpaError("the passes changed the weights: give -o FILE.mlir so they are written beside it")
            sys.stdout.write(text)
        elif len(self._programs) == 1:
            self._programs[0].save(self.args.output_file, text)
        else:
            write_text_atomic(self.args.output_file, text)
        if self.args.plan:
            plan = self._programs[0].plan
            assert plan is not None
            plan.save(self.args.plan)
        if report is not None:
            _write_report(report, self.args)
        for program in [] if self.args.quiet else self._programs:
            if self._calib is not None and program.stats is not None and "samples" in program.stats.meta:
                print(f"spa-opt: {calibration_summary(program.stats.meta)}", file=sys.stderr)
            if program.plan is not None and program.plan.selection is not None:
                print(f"spa-opt: {pruning_summary(program.plan)}", file=sys.stderr)
            if program.plan is not None and program.plan.compensation is not None:
                print(f"spa-opt: {compensation_summary(program.plan)}", file=sys.stderr)
        if report is not None and self.args.report:
            sys.stderr.write(report.table())

    def _report(self) -> Report:
        """The report of the one program pruned, against its copy from before the passes (latency measured)."""
        from spa_ir.reporting import build_report

        if len(self._programs) != 1 or self._programs[0].plan is None:
            raise SpaError(_REPORT_NEEDS_PRUNING)
        after = self._programs[0]
        assert after.plan is not None
        try:
            return build_report(self._before[0], after, after.plan, latency=True)
        except SpaError as e:  # a program the PyTorch backend cannot emit (ONNX Loop/If) is reported, untimed
            if not self.args.quiet:
                print(f"spa-opt: report without latency: {e}", file=sys.stderr)
            return build_report(self._before[0], after, after.plan)


_REPORT_NEEDS_PRUNING = (
    "--report, --report-json and --plot need one input and a pipeline that prunes "
    "(--prune-groups or spa-eliminate-dead-channels)"
)


def _wants_report(args: argparse.Namespace) -> bool:
    return bool(args.report or args.report_json or args.plot)


def _write_report(report: Report, args: argparse.Namespace) -> None:
    """--report-json FILE and --plot FILE.png, each written atomically."""
    import json

    from spa_ir.core.fileio import write_text_atomic

    if args.report_json:
        write_text_atomic(args.report_json, json.dumps(report.to_json(), indent=1) + "\n")
    if args.plot:
        report.plot(args.plot)


def _check_plan_path(plan: str, weights_files: Sequence[Path]) -> None:
    """`--plan p.json` keeps its tensors in `p.safetensors` (and removes a stale one): a plan named like a model
    with stored weights (p.json beside p.mlir) would overwrite or delete them, so it is refused before any write."""
    from spa_ir.core.plan import tensors_path_for

    mine = tensors_path_for(plan).resolve()
    for path in weights_files:
        if path.resolve() == mine:
            raise SpaError(
                f"--plan {plan}: its tensors file {tensors_path_for(plan)} is a model's weights file: "
                "give the plan another name (e.g. plan.json)"
            )


def _unquoted(opts: str) -> str:
    """`'ratio=0.5'` -> `ratio=0.5`: one pair of quotes around the whole option text goes (a quoted value at
    the end, `ignore="fc"`, keeps its quotes)."""
    if len(opts) >= 2 and opts[0] == opts[-1] and opts[0] in "'\"" and opts[0] not in opts[1:-1]:
        return opts[1:-1]
    return opts


def calibration_summary(meta: dict[str, str]) -> str:
    """The line spa-opt prints after collecting statistics: data, how it was batched, labels, memory."""
    megabytes = int(meta.get("bytes", "0")) / 2**20
    kinds = meta.get("kinds", "")
    gradients = {"grad", "fisher", "hg"} & set(kinds.split(","))
    labels = f"; labels {meta.get('label_source', '?')}, loss {meta.get('loss', '?')}" if gradients else ""
    return (
        f"calibrated on {meta['samples']} samples of {meta.get('source', '?')} ({meta.get('batching', '?')}"
        f"{labels}): {kinds}, {megabytes:.1f} MiB of float64 accumulators"
    )


def pruning_summary(plan: Plan) -> str:
    """The line spa-opt prints after pruning (from the plan's `selection` and `importance` records): criterion,
    where its labels came from, scope, target and what the pruned model keeps of the original."""
    selection = plan.selection or {}
    target, achieved = selection["target"], selection.get("achieved", {})
    criteria = sorted({g["criterion"] for g in plan.groups if "criterion" in g})
    names = {"flops": "FLOPs", "params": "parameters"}
    kept = ", ".join(f"{achieved[k]:.3f} of the {what}" for k, what in names.items() if k in achieved)
    parts = [f"criterion {'/'.join(criteria)}"] if criteria else []
    importance = plan.importance or {}
    if "label_source" in importance:
        labels = f"labels {importance['label_source']}, loss {importance.get('loss', '?')}"
        parts.append(f"{labels}, {importance.get('samples', '?')} samples")
    parts += [f"scope {selection['scope']}", f"{target['kind']}={target['value']:g}"]
    steps = f" in {selection['steps']} steps" if "steps" in selection else ""
    return f"pruned ({', '.join(parts)}{steps}): kept {kept or 'an uncounted share'}"


def compensation_summary(plan: Plan) -> str:
    """The line spa-opt prints after spa-obspa-compensate (from the plan's `compensation` record)."""
    c = plan.compensation or {}
    method = f": {c['method']}" if c.get("method") else ""
    return (
        f"compensated (source {c.get('source')}{method}; order {c.get('order')}, damp {c.get('damp')}"
        f"{', sequential' if c.get('sequential') else ''}): {c.get('refitted', 0)} consumers refitted, "
        f"{c.get('plain', 0)} left as plain removal, {c.get('norms', 0)} batch-norm statistics corrected, "
        f"{c.get('biases', 0)} biases created; largest H held {int(c.get('peak_bytes', 0)) / 2**20:.1f} MiB; "
        f"{len(plan.tensors)} changed tensors in the plan"
    )


def _constant(dialect: Dialect) -> Callable[[], Dialect]:
    return lambda: dialect


def _has_locations(module: ModuleOp) -> bool:
    from xdsl.dialects.builtin import UnknownLoc

    return any(not isinstance(op.location, UnknownLoc) for op in module.walk())


def _one_line(e: BaseException) -> str:
    if isinstance(e, ParseError):
        return str(located_parse_error(e))
    if isinstance(e, FileNotFoundError) and e.filename is not None:
        return f"{e.filename}: file not found"
    return first_line(e)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        SpaOptMain(argv).run()
    except SpaError as e:
        print(f"spa-opt: error: {e}", file=sys.stderr)
        return 1
    except (ParseError, VerifyException, DiagnosticException, ValueError, FileNotFoundError) as e:
        print(f"spa-opt: error: {_one_line(e)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
