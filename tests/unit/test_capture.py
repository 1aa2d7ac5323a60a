"""The one-trace capture (spa_ir.frontends.torch.export_functional) gives exactly the graph of the public
two-step path, torch.export.export(strict=False).run_decompositions({}): same code, signature and
nn.Module paths. Models cover composite ops kept whole (conv2d, linear, layer_norm, SDPA), in-place ops
that functionalization rewrites (ReLU(inplace), +=), a recurrent op, and buffers."""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

from spa_ir.frontends.torch import capture, export_functional


class InPlace(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.norm = nn.LayerNorm(6)
        self.attn = nn.MultiheadAttention(6, 2, batch_first=True)
        self.lstm = nn.LSTM(6, 4, batch_first=True)
        self.register_buffer("offset", torch.ones(8, 1, 1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y = torch.relu_(self.conv(x))
        y += self.offset
        t = self.norm(y.flatten(0, 1))
        a, _ = self.attn(t, t, t)
        out, _ = self.lstm(a)
        return out, y


MODELS = {
    "inplace_mix": (lambda: InPlace(), (1, 3, 8, 8)),
    "resnet18": (lambda: torchvision.models.resnet18(), (1, 3, 32, 32)),
    "vit_b_32": (lambda: torchvision.models.vit_b_32(), (1, 3, 224, 224)),
}


@pytest.mark.parametrize("name", MODELS)
def test_one_trace_equals_export_then_decompose(name: str) -> None:
    build, shape = MODELS[name]
    torch.manual_seed(0)
    model = build().eval()
    x = torch.randn(shape)
    want = torch.export.export(model, (x,), strict=False).run_decompositions({})
    got = export_functional(model, (x,))
    assert got.graph_module.code == want.graph_module.code
    assert got.graph_signature == want.graph_signature
    stack = [n.meta.get("nn_module_stack") for n in got.graph.nodes]
    assert stack == [n.meta.get("nn_module_stack") for n in want.graph.nodes]
    assert set(got.state_dict) == set(want.state_dict) and set(got.constants) == set(want.constants)


def test_capture_runs_in_eval_mode() -> None:
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5), nn.BatchNorm1d(4)).train()
    ep = capture(model, [torch.randn(2, 4)])
    targets = {str(n.target) for n in ep.graph.nodes if n.op == "call_function"}
    assert not any("dropout" in t for t in targets)
    assert "aten._native_batch_norm_legit_no_training.default" in targets


class CachesInForward(nn.Module):
    """Fills a tensor cache during forward in eval mode (timm LeViT's attention_bias_cache)."""

    def __init__(self) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.randn(4))
        self.cache: dict[str, torch.Tensor] = {}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if "b" not in self.cache:
            self.cache["b"] = self.bias * 2
        return x + self.cache["b"]


def test_capture_leaves_no_traced_tensor_in_the_model() -> None:
    model = CachesInForward().eval()
    capture(model, [torch.randn(2, 4)])
    assert model.cache == {}
    x = torch.randn(2, 4)
    assert torch.equal(model(x), x + model.bias * 2)


class CachesOverClassDefault(nn.Module):
    """Fills a cache shadowing class-level defaults on its first forward (ultralytics' Detect: anchors, shape)."""

    grid = torch.empty(0)
    shape: torch.Size | None = None

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.shape != x.shape:
            self.grid = torch.arange(x.shape[-1]).type_as(x) * 0.5
            self.shape = x.shape
        return self.conv(x) + self.grid


def test_cache_over_class_default() -> None:
    """Traced, the cache is a constant without a value: import_exported refuses it (located, with the remedy), and
    the trace leaves nothing in the model. Captured, one eager call fills it and the capture is repeated, so the
    program (the filled grid a named weight) computes the model."""
    from spa_ir import api
    from spa_ir.core.errors import SpaError
    from spa_ir.frontends.torch import import_exported

    model, x = CachesOverClassDefault().eval(), torch.randn(1, 3, 4, 4)
    ep = export_functional(model, (x,))
    assert "grid" not in vars(model) and "shape" not in vars(model)
    with pytest.raises(SpaError, match=r"^cached: constant 'lifted_tensor_0' was computed during the trace"):
        import_exported(ep, "cached")
    prog = api.import_torch(model, [x], "cached")
    assert torch.equal(prog.weights["grid"], torch.arange(4.0) * 0.5)
    with torch.no_grad():
        assert torch.allclose(api.to_torch(prog)(x), model(x))


def test_a_decoder_with_its_kv_cache_on_captures() -> None:
    """A transformers *ForCausalLM as users build it (config.use_cache=True returns a DynamicCache, which
    torch.export cannot return) is captured without the cache, and its config is left as it was: the emitted
    module computes the logits, and the model still generates with its cache."""
    import transformers

    from spa_ir import api

    torch.manual_seed(0)
    config = transformers.LlamaConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=4,
                                      num_key_value_heads=2, vocab_size=50, attn_implementation="sdpa")
    model = transformers.LlamaForCausalLM(config).eval()
    ids = torch.randint(0, 50, (1, 6), generator=torch.Generator().manual_seed(1))
    emitted = api.to_torch(api.import_torch(model, [ids]))
    assert model.config.use_cache is True
    with torch.no_grad():
        logits = emitted(ids)[0]
        assert torch.allclose(logits, model(input_ids=ids).logits, atol=1e-5)
        out = model(input_ids=ids)
    assert out.past_key_values is not None
