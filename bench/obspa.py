"""OBSPA's evidence (issue 10): pruning without fine-tuning, with and without calibration data, against plain removal
and Torch-Pruning 1.6.0's data-free criteria on the same models at the same FLOPs.

    .venv/bin/python bench/obspa.py [--quick] [--only mnist|minilm] [--threads N]

MNIST (bench/mnist_common.py: 4,000 real training digits, 1,000 held out; the cached BN ResNet and VGG-style BN CNN,
trained once): three targets, (a) `inside 0.5`: ratio 0.5 of the channels inside the ResNet's blocks with the residual
stream whole (`ignore=` its groups: every stream group, and only those, holds the stem's, a block's bn2 or a
shortcut's weights) and, on the VGG, ratio 0.5 of every conv group; (b) keep-flops 0.7 and (c) keep-flops 0.5, local
scope (every group the same ratio; where one ratio cannot land within spa's 0.02, the closest value spa reports as
reachable, the same for every criterion). Quality: held-out accuracy of the pruned module as spa emits it.

MiniLM (tools/demo_models.py: the pretrained all-MiniLM-L6-v2 BertModel on input ids, 32 tokens): attention heads
(`heads=true`: whole heads) and FFN neurons, at keep-flops 0.7 and 0.5; the embedding groups are `ignore`d, and the
hidden size is frozen anyway (it is the model's output), so only head and FFN groups are pruned (the run prints which
groups lost channels). Quality: cosine similarity of mean-pooled sentence embeddings (mean over the non-pad tokens)
to the unpruned model's, mean and minimum, on evaluation sentences (tools/demo_models.sentences() and sentences of
the stdlib's pydoc_data.topics) disjoint from the 128 calibration sentences (other pydoc_data.topics sentences).

spa rows: l1, l2 (plain removal), obspa with source identity / stats / synthetic / data (128 real images or
sentences), l1 with compensate=obspa on the same data; on MiniLM also obspa on 128 uniformly random token sequences
(the baseline the synthetic token sampler must beat); and, at the judged target only (MNIST inside 0.5, MiniLM
keep-flops 0.7), the variants tried: more synthetic samples, sequential=true, damp=0.1, 512 real samples.
Torch-Pruning rows: MagnitudeImportance p=1 / p=2, LAMP, BNScale, FPGM, Random (seeded), plain removal (it has no
compensation), the same layers left whole, at the FLOPs spa's l1 reached: on MNIST with exactly spa's widths (a
`pruning_ratio_dict` that removes as many channels per layer), on MiniLM with one local ratio for heads
(`prune_num_heads`) and FFN bisected to those FLOPs; a criterion that lands elsewhere is marked off target.
FLOPs kept: torch.utils.flop_counter on the pruned module over the dense one. Seconds: the `api.prune_program` call
(synthesis, calibration and compensation included) or Torch-Pruning's `pruner.step()`; one torch thread by default.

Prints one table per model (method x target: quality, FLOPs kept, seconds); writes out/bench/obspa_<model>.png
(quality vs FLOPs kept, one line per method) and out/bench/obspa.json (every figure; a run with --only replaces
that part and keeps the other; --quick writes obspa_quick.* instead).
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from spa_ir.core.fileio import write_text_atomic, write_with_atomic

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mnist_common import (  # noqa: E402  (the bench folder is not a package)
    BATCH,
    OUT,
    Digits,
    _torch_pruning,
    accuracy,
    cached_base,
    cached_vgg,
    flops,
    load_digits,
    reason,
    tp_importances,
)

BASE_EPOCHS = 6  # as bench/criteria_mnist.py: its cached dense ResNet is this bench's
CALIB = 128
TEXT_BATCH = 16  # MiniLM is captured at [TEXT_BATCH, SEQUENCE_LENGTH]
EVAL_TOPICS = 244  # with demo_models.sentences()' 76: 320 evaluation sentences, 20 batches
ANCHORS = [  # issue 10, measured on the same encoder with onnxsim 0.8.1 (FFN 30% + 4 of 12 heads unless said)
    ("onnxsim 0.8.1 best data-free", 0.69, 0.69),
    ("onnxsim 0.8.1 Wanda + ridge refit, 64 sentences", 0.69, 0.86),
    ("onnxsim 0.8.1 Wanda + ridge refit, 64 sentences, FFN only", 0.80, 0.95),
]


@dataclass(frozen=True)
class Method:
    """One spa row: api.prune_program options besides the target, and which calibration set it gets (None: none)."""

    name: str
    options: dict[str, Any]
    calib: str | None = None  # "real" | "real-512" | "random-tokens"
    target: str | None = None  # run at this target only (the variants tried at the judged target)


SPA_METHODS = [
    Method("l1", {"criterion": "l1"}),
    Method("l2", {"criterion": "l2"}),
    Method("obspa(identity)", {"criterion": "obspa", "source": "identity"}),
    Method("obspa(stats)", {"criterion": "obspa", "source": "stats"}),
    Method("obspa(synthetic)", {"criterion": "obspa", "source": "synthetic"}),
    Method(f"obspa(data,{CALIB})", {"criterion": "obspa", "source": "data"}, "real"),
    Method(f"l1+obspa(data,{CALIB})", {"criterion": "l1", "compensate": "obspa", "source": "data"}, "real"),
]
RANDOM_TOKENS = Method(f"obspa(random tokens,{CALIB})", {"criterion": "obspa", "source": "data"}, "random-tokens")
SYN, DATA = {"criterion": "obspa", "source": "synthetic"}, {"criterion": "obspa", "source": "data"}
MNIST_VARIANTS = [  # what else was tried at the judged target (not in --quick)
    Method("obspa(synthetic,256 samples)", {**SYN, "samples": 256}, target="inside 0.5"),
    Method("obspa(synthetic,sequential)", {**SYN, "sequential": True}, target="inside 0.5"),
    Method(f"obspa(data,{CALIB},sequential)", {**DATA, "sequential": True}, "real", "inside 0.5"),
    Method(f"obspa(data,{CALIB},damp 0.1)", {**DATA, "damp": 0.1}, "real", "inside 0.5"),
    Method("obspa(data,512)", DATA, "real-512", "inside 0.5"),
]
MINILM_VARIANTS = [
    Method("obspa(synthetic,256 samples)", {**SYN, "samples": 256}, target="keep-flops 0.7"),
    Method("obspa(synthetic,1024 samples)", {**SYN, "samples": 1024}, target="keep-flops 0.7"),
    Method(f"obspa(data,{CALIB},sequential)", {**DATA, "sequential": True}, "real", "keep-flops 0.7"),
    Method(f"obspa(data,{CALIB},damp 0.1)", {**DATA, "damp": 0.1}, "real", "keep-flops 0.7"),
    Method("obspa(data,512)", DATA, "real-512", "keep-flops 0.7"),
]
QUICK_METHODS = ("l1", "obspa(identity)", "obspa(synthetic)", f"obspa(data,{CALIB})")
TP_CRITERIA = ("tp-l1", "tp-l2", "tp-lamp", "tp-bn-scale", "tp-fpgm", "tp-random")


@dataclass(frozen=True)
class Target:
    """A pruning target: its label, spa's target options, and the module names Torch-Pruning leaves whole."""

    label: str
    options: dict[str, Any]
    tp_ignored: Callable[[str, nn.Module], bool]


@dataclass
class Row:
    model: str
    tool: str  # spa | torch-pruning
    method: str
    target: str
    quality: float | None = None  # accuracy (MNIST) or mean cosine (MiniLM)
    quality_min: float | None = None  # MiniLM: the lowest cosine
    flops_kept: float | None = None
    seconds: float | None = None
    note: str = ""  # spa: how compensation went; torch-pruning: the ratio; either: why it failed
    failed: bool = False
    off_target: bool = False  # torch-pruning did not reach the FLOPs spa's l1 kept (not compared)


@dataclass
class Report:
    model: str
    metric: str
    dense: float
    targets: list[str]
    rows: list[Row] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------- spa


class Spa:
    """One imported Program; each run prunes a copy of it."""

    def __init__(self, model: nn.Module, example: torch.Tensor):
        from spa_ir import api

        self.program = api.import_torch(model.eval(), [example])

    def run(self, options: dict[str, Any], calib: Any) -> tuple[torch.fx.GraphModule, float, Any]:
        """(the emitted pruned module, the seconds api.prune_program took, the plan)."""
        from spa_ir import api
        from spa_ir.core.program import Program

        program = Program(self.program.module.clone(), self.program.weights.copy(), self.program.source)
        t0 = time.perf_counter()
        plan = api.prune_program(program, calib, **options)
        return api.to_torch(program), time.perf_counter() - t0, plan

    def reachable(self, target: dict[str, Any]) -> dict[str, Any]:
        """`target`, or where one local ratio cannot land a keep-flops target within spa's tolerance (small groups:
        the kept FLOPs move in steps), the closest value spa says it can reach (the same for every criterion: under
        local scope the kept FLOPs depend on the ratio only)."""
        try:
            self.run({**target, "criterion": "l1"}, None)
            return target
        except Exception as e:
            found = re.search(r"out of reach .* closest reachable value is ([0-9.]+)", str(e))
            if found is None or "keep_flops" not in target:
                raise
            return {**target, "keep_flops": float(found.group(1))}


def compensation_note(plan: Any) -> str:
    """What compensation did, in a few words (refitted / plain-removal consumers, norms corrected, how made)."""
    c = plan.compensation
    if not c:
        return ""
    note = f"{c['source']}: refit {c['refitted']}, plain {c['plain']}, norms {c['norms']}"
    if c.get("biases"):
        note += f", new biases {c['biases']}"
    return note + (f" [{c['method']}]" if c.get("method") else "")


def spa_rows(
    model_name: str,
    spa: Spa,
    methods: Sequence[Method],
    targets: Sequence[Target],
    calib: dict[str, Any],
    measure: Callable[[nn.Module, Row], None],
    dense_flops: Callable[[nn.Module], float],
    plans: dict[str, Any],
) -> list[Row]:
    """Every method at every target; a failure is a row with its one-line reason, not the end of the bench."""
    rows = []
    for t in targets:
        aim = spa.reachable(t.options)
        if aim != t.options:
            print(f"  {model_name} {t.label}: out of reach under scope local; aiming at the closest reachable {aim}")
        for m in (m for m in methods if m.target in (None, t.label)):
            row = Row(model_name, "spa", m.name, t.label)
            try:
                gm, row.seconds, plan = spa.run({**aim, **m.options}, calib[m.calib] if m.calib else None)
                row.note = compensation_note(plan)
                row.flops_kept = dense_flops(gm)
                measure(gm, row)
                plans[f"{m.name}@{t.label}"] = plan
            except Exception as e:  # a spa failure is evidence: reported with its options
                row.failed, row.note = True, f"api.prune_program({ {**aim, **m.options} }): {reason(e)}"
            print(f"  {model_name} {t.label:<14} {m.name:<26} {show(row)}", flush=True)
            rows.append(row)
    return rows


def show(row: Row) -> str:
    if row.failed:
        return f"FAILED {row.note}"
    if row.off_target:
        return f"OFF TARGET {row.quality:.4f} {row.note}"
    low = f" (min {row.quality_min:.3f})" if row.quality_min is not None else ""
    return f"{row.quality:.4f}{low} FLOPs {row.flops_kept:.3f} {row.seconds:.1f} s  {row.note}"


# ---------------------------------------------------------------- Torch-Pruning


def tp_importance(name: str) -> Any:
    """mnist_common's Torch-Pruning table, with its random criterion (a data-free row here)."""
    if name == "tp-random":
        return _torch_pruning().importance.RandomImportance()
    return tp_importances()[name]()


TpSetup = Callable[[nn.Module, float], dict[str, Any]]
"""Extra BasePruner arguments for a fresh copy of the model at a ratio (MiniLM: its attention heads)."""


def tp_prune(
    name: str,
    base: nn.Module,
    example: torch.Tensor,
    ratio: float,
    ignored: Callable[[str, nn.Module], bool],
    setup: TpSetup,
) -> tuple[nn.Module, float]:
    """A pruned copy of `base` (Torch-Pruning, local, `ratio`) and the seconds `pruner.step()` took."""
    model = copy.deepcopy(base).eval()
    torch.manual_seed(0)  # RandomImportance draws from torch's global generator
    extra = setup(model, ratio)
    pruner = _torch_pruning().pruner.BasePruner(
        model,
        example,
        importance=tp_importance(name),
        pruning_ratio=ratio,
        ignored_layers=[m for n, m in model.named_modules() if ignored(n, m)],
        global_pruning=False,
        **extra,
    )
    t0 = time.perf_counter()
    pruner.step()
    return model.eval(), time.perf_counter() - t0


def tp_ratio(
    base: nn.Module,
    example: torch.Tensor,
    aim: float,
    ignored: Callable[[str, nn.Module], bool],
    setup: TpSetup,
    kept: Callable[[nn.Module], float],
) -> float:
    """The local pruning_ratio whose FLOPs come closest to `aim` (bisection with tp-l1; under local pruning the
    kept FLOPs depend on the ratio only)."""
    lo, hi = 0.0, 0.95
    best = (2.0, 0.0)
    for _ in range(12):
        mid = (lo + hi) / 2
        model, _ = tp_prune("tp-l1", base, example, mid, ignored, setup)
        got = kept(model)
        if abs(got - aim) < best[0]:
            best = (abs(got - aim), mid)
        if abs(got - aim) < 1e-4:
            break
        lo, hi = (mid, hi) if got > aim else (lo, mid)
    return best[1]


def tp_rows(
    model_name: str,
    base: nn.Module,
    example: torch.Tensor,
    targets: Sequence[Target],
    spa_done: list[Row],
    criteria: Sequence[str],
    setup: TpSetup,
    kept: Callable[[nn.Module], float],
    measure: Callable[[nn.Module, Row], None],
    describe: Callable[[nn.Module], str] = lambda m: "",
    same_widths: Callable[[str], TpSetup] | None = None,
) -> list[Row]:
    """Each criterion at each target, at the FLOPs spa's l1 reached there: with `same_widths` (the target's label
    -> per-layer ratios) at exactly spa's widths, else at the bisected local ratio. A run that does not land within
    0.01 of those FLOPs is marked off target (its figures kept in the JSON, out of the comparisons)."""
    rows = []
    for t in targets:
        reached = [r.flops_kept for r in spa_done if r.target == t.label and r.method == "l1" and r.flops_kept]
        if not reached:
            continue
        if same_widths is not None:
            ratio, how, fix = 0.0, "spa l1's widths (pruning_ratio_dict)", same_widths(t.label)
        else:
            ratio = tp_ratio(base, example, reached[0], t.tp_ignored, setup, kept)
            how, fix = f"pruning_ratio {ratio:.3f}", setup
        for name in criteria:
            row = Row(model_name, "torch-pruning", name, t.label, note=how)
            try:
                model, row.seconds = tp_prune(name, base, example, ratio, t.tp_ignored, fix)
                row.flops_kept = kept(model)
                measure(model, row)
                row.note += describe(model)
                if abs(row.flops_kept - reached[0]) > 0.01:
                    row.off_target = True
                    row.note = f"off target: FLOPs kept {row.flops_kept:.3f}, aimed at {reached[0]:.3f}; {row.note}"
            except Exception as e:  # a peer criterion that fails on this model is reported, not fatal
                row.failed, row.note = True, f"{type(e).__name__}: {e}"[:200]
            print(f"  {model_name} {t.label:<14} {name:<26} {show(row)}", flush=True)
            rows.append(row)
    return rows


def spa_widths(plan: Any) -> dict[str, float]:
    """Torch-Pruning per-layer ratios that remove as many channels as spa's plan did: each pruned group's members
    on their output dimension (dim 0; the caller keeps the convs and linears among them) at (k - 1/2)/n for k of
    n removed, as Torch-Pruning keeps floor(n * (1 - ratio)) channels."""
    out = {}
    for g in plan.groups:
        k = len(g["removed"])
        for m in g["members"] if k else []:
            if m.get("dim") == 0 and str(m.get("param", "")).endswith(".weight"):
                out[m["param"][: -len(".weight")]] = (k - 0.5) / g["size"]
    return out


# ---------------------------------------------------------------- MNIST


def stream(name: str) -> bool:
    """The ResNet's residual-stream modules: the stem, each block's second conv and the shortcuts, and the fc."""
    return name in ("stem.0", "fc") or name.endswith(".conv2") or name.endswith("shortcut.0")


def mnist_targets(model_name: str, quick: bool) -> list[Target]:
    def fc(name: str, m: nn.Module) -> bool:
        return isinstance(m, nn.Linear)

    if model_name == "mnist-resnet":
        inside = Target("inside 0.5", {"ratio": 0.5, "ignore": r"^stem\.|\.bn2\.|\.shortcut\."}, lambda n, m: stream(n))
    else:
        inside = Target("inside 0.5", {"ratio": 0.5}, fc)
    targets = [inside] + [Target(f"keep-flops {k}", {"keep_flops": k}, fc) for k in (0.7, 0.5)]
    return targets[:1] if quick else targets


def mnist(quick: bool, reports: dict[str, Report]) -> None:
    data = load_digits()
    resnet, resnet_s = cached_base(data, BASE_EPOCHS)
    vgg, vgg_s = cached_vgg(data, BASE_EPOCHS)
    for model_name, base, train_s in (("mnist-resnet", resnet, resnet_s), ("mnist-vgg", vgg, vgg_s)):
        reports[model_name] = mnist_model(model_name, base, train_s, data, quick)


def mnist_model(model_name: str, base: nn.Module, train_s: float, data: Digits, quick: bool) -> Report:
    dense, base_flops = accuracy(base, data), flops(base)
    print(f"{model_name}: dense {dense:.2%}, {base_flops / BATCH / 1e6:.2f} MFLOPs/digit (trained in {train_s:.0f} s)")
    targets = mnist_targets(model_name, quick)
    report = Report(model_name, "held-out accuracy", dense, [t.label for t in targets])

    def measure(module: nn.Module, row: Row) -> None:
        row.quality = accuracy(module, data)

    def kept(module: nn.Module) -> float:
        return flops(module) / base_flops

    methods = [m for m in SPA_METHODS if not quick or m.name in QUICK_METHODS] + ([] if quick else MNIST_VARIANTS)
    spa = Spa(base, torch.zeros(BATCH, 1, 28, 28))
    plans: dict[str, Any] = {}
    calib = {"real": data.x_train[:CALIB], "real-512": data.x_train[:512]}
    report.rows += spa_rows(model_name, spa, methods, targets, calib, measure, kept, plans)
    report.extra["pruned_groups"] = {k: pruned_groups(p) for k, p in plans.items() if k.startswith("l1@")}
    criteria = TP_CRITERIA[:1] if quick else TP_CRITERIA
    example = torch.zeros(1, 1, 28, 28)
    widths = {t.label: spa_widths(plans[f"l1@{t.label}"]) for t in targets if f"l1@{t.label}" in plans}

    def same_widths(label: str) -> TpSetup:
        def setup(model: nn.Module, ratio: float) -> dict[str, Any]:
            layers = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Conv2d | nn.Linear)]
            return {"pruning_ratio_dict": {m: widths[label][n] for n, m in layers if n in widths[label]}}

        return setup

    report.rows += tp_rows(
        model_name,
        base,
        example,
        targets,
        report.rows,
        criteria,
        lambda m, r: {},
        kept,
        measure,
        same_widths=same_widths,
    )
    return report


# ---------------------------------------------------------------- MiniLM


def topic_sentences() -> list[str]:
    """English prose from the standard library's help topics (pydoc_data.topics): prose paragraphs (code is
    indented) split into sentences of 8 to 40 words, mostly words, each once, in a fixed shuffled order."""
    from pydoc_data.topics import topics

    out: dict[str, None] = {}
    for key in sorted(topics):
        for para in re.split(r"\n\s*\n", topics[key]):
            if para.startswith(" ") or para.lstrip().startswith(("*", "-", ">>>")):
                continue
            for s in re.split(r"(?<=[.!?])\s+(?=[A-Z])", " ".join(para.split())):
                words = s.split()
                wordy = sum(w.strip(".,;:'\"()").isalpha() for w in words) >= 0.75 * len(words)
                if 8 <= len(words) <= 40 and s[-1] in ".!?" and wordy:
                    out[s] = None
    text = list(out)
    random.Random(0).shuffle(text)
    return text


def text_sets() -> tuple[list[str], list[str], list[str]]:
    """(the 128 calibration sentences, the evaluation sentences, 512 more calibration sentences for the variant that
    asks whether more data helps): pairwise disjoint."""
    from spa.tools.demo_models import sentences

    demo = sentences()
    topics = [s for s in topic_sentences() if s not in set(demo)]
    calib = topics[:CALIB]
    evaluation = demo + topics[CALIB : CALIB + EVAL_TOPICS]
    evaluation = evaluation[: len(evaluation) // TEXT_BATCH * TEXT_BATCH]
    extra = topics[CALIB + EVAL_TOPICS : CALIB + EVAL_TOPICS + 512]
    assert len(extra) == 512 and not set(calib) & set(evaluation) and not set(extra) & (set(calib) | set(evaluation))
    return calib, evaluation, extra


def pruned_groups(plan: Any) -> dict[str, str]:
    """Which groups lost channels, by kind (heads / FFN / other: the first member's weight), as `n groups: removed
    of size each`."""
    kinds: dict[str, list[str]] = {}
    for g in plan.groups:
        if not g["removed"]:
            continue
        first = g["members"][0]
        name = first["param"]
        kind = re.sub(r"\d+", "*", name) if name.startswith("bert.") else name
        kind = "attention heads" if "attention.self" in name and first["block"] > 1 else kind
        kind = "FFN neurons" if "intermediate.dense" in name else kind
        kinds.setdefault(kind, []).append(f"{len(g['removed'])}/{g['size']}")
    return {k: f"{len(v)} groups: {', '.join(sorted(set(v)))} removed" for k, v in kinds.items()}


def minilm(quick: bool, reports: dict[str, Report]) -> None:
    import transformers
    from torch.utils.flop_counter import FlopCounterMode

    from spa.tools.demo_models import SEQUENCE_LENGTH, _model_path
    from spa.tools.demo_models import minilm as load_minilm

    base = load_minilm()
    tokenizer = transformers.AutoTokenizer.from_pretrained(_model_path())
    calib_text, eval_text, extra_text = text_sets()

    def tokens(text: list[str]) -> torch.Tensor:
        kw = {"truncation": True, "max_length": SEQUENCE_LENGTH, "padding": "max_length", "return_tensors": "pt"}
        return tokenizer(text, **kw)["input_ids"]

    ids = tokens(eval_text)
    batches = list(ids.split(TEXT_BATCH))
    mask = (ids != tokenizer.pad_token_id).float().unsqueeze(-1)
    gen = torch.Generator().manual_seed(0)
    random_ids = torch.randint(999, tokenizer.vocab_size, (CALIB, SEQUENCE_LENGTH), generator=gen)  # past [unused]
    calib = {
        "real": list(tokens(calib_text).split(TEXT_BATCH)),
        "real-512": list(tokens(extra_text).split(TEXT_BATCH)),
        "random-tokens": list(random_ids.split(TEXT_BATCH)),
    }
    print(
        f"minilm: {len(calib_text)} calibration sentences (pydoc_data.topics), {len(eval_text)} evaluation sentences "
        f"(76 from demo_models.sentences(), the rest pydoc_data.topics), disjoint; {SEQUENCE_LENGTH} tokens"
    )

    def pooled(model: nn.Module) -> torch.Tensor:
        with torch.no_grad():
            hidden = torch.cat([model(b) for b in batches])
        return (hidden * mask).sum(1) / mask.sum(1)

    reference = pooled(base)

    def measure(module: nn.Module, row: Row) -> None:
        cos = F.cosine_similarity(pooled(module), reference, dim=-1)
        row.quality, row.quality_min = float(cos.mean()), float(cos.min())

    def count(model: nn.Module) -> int:
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            model(batches[0])
        return int(counter.get_total_flops())

    base_flops = count(base)

    def kept(module: nn.Module) -> float:
        return count(module) / base_flops

    def residual(name: str, m: nn.Module) -> bool:
        """The layers that write the hidden size (Torch-Pruning prunes the groups rooted at the others)."""
        return name.endswith("output.dense") or "pooler" in name or "embeddings" in name

    targets = [
        Target(f"keep-flops {k}", {"keep_flops": k, "heads": True, "ignore": "embeddings"}, residual)
        for k in (0.7, 0.5)
    ]
    targets = targets[:1] if quick else targets
    methods = [m for m in SPA_METHODS if not quick or m.name in QUICK_METHODS]
    methods += [] if quick else [RANDOM_TOKENS, *MINILM_VARIANTS]
    report = Report("minilm", "cosine of mean-pooled sentence embeddings", 1.0, [t.label for t in targets])
    spa = Spa(base, batches[0])
    plans: dict[str, Any] = {}
    report.rows += spa_rows("minilm", spa, methods, targets, calib, measure, kept, plans)
    report.extra["pruned_groups"] = {k: pruned_groups(p) for k, p in plans.items() if k.startswith("l1@")}
    for k, v in report.extra["pruned_groups"].items():
        print(f"  spa {k}: pruned {v}")
    report.extra["anchors"] = [{"what": w, "flops_kept": f, "mean_cosine": c} for w, f, c in ANCHORS]
    report.extra["text"] = {"calibration": len(calib_text), "evaluation": len(eval_text), "more": len(extra_text)}
    report.rows += tp_rows(
        "minilm",
        base,
        batches[0],
        targets,
        report.rows,
        TP_CRITERIA[:1] if quick else TP_CRITERIA,
        tp_heads,
        kept,
        measure,
        widths,
    )
    reports["minilm"] = report


def tp_heads(model: nn.Module, ratio: float) -> dict[str, Any]:
    """Torch-Pruning's head pruning on HF BERT (its examples): q/k/v head counts, whole heads removed at the same
    ratio as the FFN neurons. transformers 5 reshapes with -1 heads of attention_head_size, so fewer heads need no
    attribute updates."""
    from transformers.models.bert.modeling_bert import BertSelfAttention

    heads: dict[nn.Module, int] = {}
    for m in model.modules():
        if isinstance(m, BertSelfAttention):
            heads.update({m.query: m.num_attention_heads, m.key: m.num_attention_heads, m.value: m.num_attention_heads})
    return {"num_heads": heads, "prune_num_heads": True, "prune_head_dims": False, "head_pruning_ratio": ratio}


def widths(model: nn.Module) -> str:
    """What a pruned encoder kept, layer by layer: heads (query width / 32), FFN neurons; and its hidden size."""
    bert: Any = getattr(model, "bert", None)
    if bert is None:  # spa's emitted module: read the widths off its weights
        state = model.state_dict()
        layers = sorted({int(k.split(".")[3]) for k in state if k.startswith("bert.encoder.layer.")})
        q = [state[f"bert.encoder.layer.{i}.attention.self.query.weight"].shape[0] // 32 for i in layers]
        f = [state[f"bert.encoder.layer.{i}.intermediate.dense.weight"].shape[0] for i in layers]
        hidden = state["bert.embeddings.word_embeddings.weight"].shape[1]
    else:
        q = [lay.attention.self.query.out_features // 32 for lay in bert.encoder.layer]
        f = [lay.intermediate.dense.out_features for lay in bert.encoder.layer]
        hidden = bert.embeddings.word_embeddings.weight.shape[1]
    return f"; heads {sorted(set(q))}/12, FFN {sorted(set(f))}/1536, hidden {hidden}"


# ---------------------------------------------------------------- output


def table(report: Report) -> str:
    """Method x target: quality (MiniLM: mean / min cosine), FLOPs kept, seconds."""
    pct = report.model != "minilm"
    cell = 22 if pct else 25
    lines = [
        f"{report.model}: {report.metric}, no fine-tuning; dense {report.dense:.2%}"
        if pct
        else f"{report.model}: {report.metric} to the unpruned model (mean / min), no fine-tuning"
    ]
    lines.append(f"{'method':<31}" + "".join(f"{t:>{cell}}" for t in report.targets))
    lines.append(f"{'':<31}" + "".join(f"{'quality FLOPs    s':>{cell}}" for _ in report.targets))
    methods = list(dict.fromkeys((r.tool, r.method) for r in report.rows))
    for tool, method in methods:
        cells = []
        for t in report.targets:
            row = next((r for r in report.rows if (r.tool, r.method, r.target) == (tool, method, t)), None)
            if row is None:
                cells.append(f"{'-':>{cell}}")
            elif row.failed or row.quality is None:
                cells.append(f"{'failed':>{cell}}")
            elif row.off_target:
                cells.append(f"{'off target':>{cell}}")
            else:
                q = f"{100 * row.quality:6.2f}%" if pct else f"{row.quality:.3f}/{row.quality_min:.3f}"
                cells.append(f"{q:>10} {row.flops_kept:5.3f} {row.seconds:5.1f}".rjust(cell))
        lines.append(f"{method:<31}" + "".join(cells))
    failed = [r for r in report.rows if r.failed or r.off_target]
    lines += [f"  {'failed' if r.failed else 'off target'}: {r.method} @ {r.target}: {r.note}" for r in failed]
    return "\n".join(lines)


def plot(report: Report, path: Path) -> None:
    """Quality vs FLOPs kept, one line per method through its keep-flops targets (spa solid, Torch-Pruning dashed),
    its `inside 0.5` point as a hollow marker of the same colour, the variants tried as grey crosses (labelled);
    dense as a dotted line; on MiniLM the issue's onnxsim anchors in black."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scale = 100 if report.model != "minilm" else 1
    fig, ax = plt.subplots(figsize=(11, 6))
    colours = [plt.get_cmap("tab20")(i) for i in range(20)]
    # (row, FLOPs kept, quality on the plot's scale) of every row that has figures
    good = [
        (r, r.flops_kept, scale * r.quality)
        for r in report.rows
        if not (r.failed or r.off_target) and r.quality is not None and r.flops_kept is not None
    ]
    variants = {m.name for m in MNIST_VARIANTS + MINILM_VARIANTS}
    methods = list(dict.fromkeys((r.tool, r.method) for r, _, _ in good if r.method not in variants))
    for i, (tool, method) in enumerate(methods):
        mine = [(r, x, y) for r, x, y in good if (r.tool, r.method) == (tool, method)]
        line = sorted((x, y) for r, x, y in mine if r.target.startswith("keep-flops"))
        colour = colours[i % len(colours)]
        label = f"{'TP ' if tool != 'spa' else ''}{method}"
        if line:
            xs, ys = zip(*line)
            ax.plot(xs, ys, "-o" if tool == "spa" else "--s", color=colour, label=label, markersize=4)
        for r, x, y in mine:
            if not r.target.startswith("keep-flops"):
                ax.plot([x], [y], "o" if tool == "spa" else "s", mfc="none", color=colour)
    for r, x, y in good:
        if r.method in variants:
            ax.plot([x], [y], "x", color="gray")
            ax.annotate(r.method, (x, y), fontsize=6, color="gray", xytext=(4, 0), textcoords="offset points")
    ax.axhline(report.dense * scale, color="gray", linestyle=":", label="dense")
    for (what, f, c), marker in zip(ANCHORS if report.model == "minilm" else [], "*PX"):
        ax.plot([f], [c], marker, color="black", markersize=10, label=f"anchor: {what}")
    if any(not r.target.startswith("keep-flops") for r, _, _ in good):
        ax.plot([], [], "o", mfc="none", color="gray", label="hollow: inside 0.5")
    ax.set_xlabel("FLOPs kept")
    ax.set_ylabel("held-out accuracy (%)" if scale == 100 else "mean cosine to the unpruned embeddings")
    ax.set_title(f"{report.model}: no fine-tuning")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(alpha=0.3)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_with_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight"))
    plt.close(fig)


def goals(reports: dict[str, Report]) -> list[str]:
    """The issue's goals, each met or missed and by how much."""

    def q(model: str, method: str, target: str) -> float | None:
        rows = [
            r
            for r in reports[model].rows
            if r.method == method and r.target == target and not r.failed and not r.off_target
        ]
        return rows[0].quality if rows else None

    def tried(model: str, family: str, target: str) -> str:
        """The variants of a method family at the judged target, as `name value` (what else was tried)."""
        found = [
            f"{r.method} {r.quality:.4f}"
            for r in reports[model].rows
            if r.method.startswith(family)
            and r.method not in ("obspa(synthetic)", f"obspa(data,{CALIB})")
            and r.target == target
            and r.quality is not None
            and not r.failed
        ]
        return f"; tried: {', '.join(found)}" if found else ""

    out = []
    for model in ("mnist-resnet", "mnist-vgg"):
        if model not in reports:
            continue
        dense = reports[model].dense
        syn, dat = q(model, "obspa(synthetic)", "inside 0.5"), q(model, f"obspa(data,{CALIB})", "inside 0.5")
        if syn is not None:
            out.append(
                f"{model} inside 0.5: obspa(synthetic) {syn:.2%} (goal >= 95%: {'met' if syn >= 0.95 else 'missed'}"
                f" by {100 * (syn - 0.95):+.2f} points){tried(model, 'obspa(synthetic,', 'inside 0.5')}"
            )
        if dat is not None:
            gap = 100 * (dense - dat)
            out.append(
                f"{model} inside 0.5: obspa(data,{CALIB}) {dat:.2%}, {gap:.2f} points below dense (goal <= 0.5:"
                f" {'met' if gap <= 0.5 else 'missed'}){tried(model, 'obspa(data,', 'inside 0.5')}"
            )
    if "minilm" in reports:
        dat, syn = (
            q("minilm", f"obspa(data,{CALIB})", "keep-flops 0.7"),
            q("minilm", "obspa(synthetic)", "keep-flops 0.7"),
        )
        if dat is not None:
            out.append(
                f"minilm keep-flops 0.7: obspa(data,{CALIB}) mean cosine {dat:.3f} (bar >= 0.97: "
                f"{'met' if dat >= 0.97 else 'missed'} by {dat - 0.97:+.3f})"
                f"{tried('minilm', 'obspa(data,', 'keep-flops 0.7')}"
            )
        if syn is not None:
            out.append(
                f"minilm keep-flops 0.7: obspa(synthetic) mean cosine {syn:.3f} (goal >= 0.90: "
                f"{'met' if syn >= 0.90 else 'missed'} by {syn - 0.90:+.3f})"
                f"{tried('minilm', 'obspa(synthetic,', 'keep-flops 0.7')}"
            )
    for model, report in reports.items():
        for t in report.targets:
            syn = q(model, "obspa(synthetic)", t)
            rivals = {
                r.method: r.quality
                for r in report.rows
                if r.target == t
                and not (r.failed or r.off_target)
                and r.quality is not None
                and (r.method == "l1" or r.tool == "torch-pruning")
            }
            if syn is None or not rivals:
                continue
            best = max(rivals, key=lambda k: rivals[k])
            margin = syn - rivals[best]
            out.append(
                f"{model} {t}: obspa(synthetic) {syn:.4f} vs the best of l1 and Torch-Pruning ({best} "
                f"{rivals[best]:.4f}): {'beats' if margin > 0 else 'does not beat'} it by {margin:+.4f}"
            )
    return out


def save(reports: dict[str, Report], wall: float, stem: str) -> Path:
    """out/bench/obspa.json: this run's reports over what an earlier run wrote for the other models."""
    path = OUT / f"{stem}.json"
    saved: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    for name, r in reports.items():
        saved[name] = {**asdict(r), "goals": goals({name: r}), "wall_s": wall}
    write_text_atomic(path, json.dumps(saved, indent=1, default=str))
    return path


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="one target, four spa rows, tp-l1 only (a smoke test)")
    ap.add_argument("--only", choices=("mnist", "minilm"), help="run one part")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1: the cores are shared)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    wall = time.perf_counter()
    reports: dict[str, Report] = {}
    stem = "obspa_quick" if args.quick else "obspa"  # a smoke test leaves the full figures alone
    if args.only in (None, "mnist"):
        mnist(args.quick, reports)
    if args.only in (None, "minilm"):
        minilm(args.quick, reports)
    print()
    for name, report in reports.items():
        print(table(report))
        for k, v in report.extra.get("pruned_groups", {}).items():
            print(f"  spa {k} pruned: " + "; ".join(f"{kind}: {what}" for kind, what in v.items()))
        if name == "minilm":
            for what, f, c in ANCHORS:
                print(f"  anchor: {what}: mean cosine {c:.2f} at FLOPs kept {f:.2f}")
        plot(report, OUT / f"{stem}_{name}.png")
        print()
    for line in goals(reports):
        print(line)
    path = save(reports, time.perf_counter() - wall, stem)
    print(f"wrote {path}, " + ", ".join(f"{OUT / f'{stem}_{n}.png'}" for n in reports))
    print(f"wall time: {time.perf_counter() - wall:.0f} s")


if __name__ == "__main__":
    main()
