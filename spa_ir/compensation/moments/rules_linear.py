"""Linear maps with a constant weight (conv, linear, mm, addmm, matmul), features taken as independent, and
attention's convex mix of V (scaled dot-product attention, matmul(softmax(..., dim=-1), V))."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import torch
import torch.fx as fx

from spa_ir.calibration.sites import call_args
from spa_ir.compensation.moments.ops import CONV_T, IDENTITY, SOFTMAX
from spa_ir.compensation.moments.values import (
    Entry,
    Stop,
    Val,
    f64,
    make_val,
    packet,
    pad_rank,
    per_channel,
    with_extras,
)

if TYPE_CHECKING:
    from spa_ir.compensation.moments.walk import Walk


def conv(w: Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    weight = w.const_tensor(a["weight"])
    if weight is None:
        raise Stop("the weight is not a constant")
    x = w.val(a["input"])
    transposed = bool(a.get("transposed", False)) or packet(node) in CONV_T
    groups = int(a.get("groups", 1))
    wt = f64(weight)
    rank = wt.dim()
    if transposed:  # [C_in, C_out/g, k...] -> [C_out, C_in/g, k...] per group
        cin, cout_g = wt.shape[0], wt.shape[1]
        wt = wt.reshape(groups, cin // groups, cout_g, *wt.shape[2:]).transpose(1, 2)
        wt = wt.reshape(groups * cout_g, cin // groups, *wt.shape[3:])
    cout, cin_g = wt.shape[0], wt.shape[1]
    mu, var = per_channel(x, 1, rank, cin_g * groups)
    flat = wt.reshape(cout, cin_g, -1)
    ws, w2 = flat.sum(-1), flat.square().sum(-1)  # over kernel positions
    if transposed:
        taps = math.prod(int(s) for s in a.get("stride", [1])) or 1
        ws, w2 = ws / taps, w2 / taps
    per_group = (groups, cout // groups, cin_g)
    mean = (ws.reshape(per_group) @ mu.reshape(groups, cin_g, 1)).reshape(cout)
    out_var = (w2.reshape(per_group) @ var.reshape(groups, cin_g, 1)).reshape(cout)
    bias = w.const_tensor(a.get("bias"))
    if a.get("bias") is not None and bias is None:
        raise Stop("the bias is not a constant")
    if bias is not None:
        mean = mean + f64(bias)
    tail = (1,) * (rank - 2)
    return make_val(mean.reshape(cout, *tail), out_var.reshape(cout, *tail))


def _dense(x: Val, weight: torch.Tensor, bias: torch.Tensor | None) -> Val:
    """x @ weight (+ bias), weight [F_in, F_out], features independent; in column blocks of at most 2^22 float64
    weights (a VGG classifier's 10^8 would need 1.6 GB at once)."""
    f_in, f_out = weight.shape
    rank = max(x.mean.dim(), 1)  # leading dims: moments that vary over positions
    m, v = pad_rank(x.mean, rank), pad_rank(x.var, rank)
    if m.shape[-1] == 1 and f_in != 1:
        m, v = m.expand(*m.shape[:-1], f_in), v.expand(*v.shape[:-1], f_in)
    step = max(1, (1 << 22) // max(f_in, 1))
    means, variances = [], []
    for j in range(0, f_out, step):
        wt = f64(weight[:, j : j + step])
        means.append(m @ wt)
        variances.append(v @ wt.square())
    mean, var = torch.cat(means, -1), torch.cat(variances, -1)
    if bias is not None:
        mean = mean + f64(bias)
    return make_val(mean, var)


def linear(w: Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    weight, bias = w.const_tensor(a["weight"]), w.const_tensor(a.get("bias"))
    if weight is None or (a.get("bias") is not None and bias is None):
        raise Stop("the weight is not a constant")
    return _dense(w.val(a["input"]), weight.T, bias)


def mm(w: Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    weight = w.const_tensor(a["mat2"])
    if weight is None:
        raise Stop("matmul of two activations")
    return _dense(w.val(a["self"]), weight, None)


def addmm(w: Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    weight, bias = w.const_tensor(a["mat2"]), w.const_tensor(a["self"])
    if weight is None or bias is None:
        raise Stop("matmul of two activations")
    out = _dense(w.val(a["mat1"]), weight, None)
    beta, alpha = float(a.get("beta", 1)), float(a.get("alpha", 1))
    return make_val(alpha * out.mean + beta * f64(bias), alpha * alpha * out.var)


def _through_identity(arg: Any) -> Any:
    while isinstance(arg, fx.Node) and arg.op == "call_function" and packet(arg) in IDENTITY:
        arg = arg.args[0]
    return arg


def matmul(w: Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    weight = w.const_tensor(a["other"])
    if weight is not None:
        if weight.dim() != 2:
            raise Stop(f"a constant operand of rank {weight.dim()}")
        return _dense(w.val(a["self"]), weight, None)
    probs = _through_identity(a["self"])
    if isinstance(probs, fx.Node) and probs.op == "call_function" and packet(probs) in SOFTMAX:
        dim = int(call_args(probs)["dim"])
        rank = w.rank(probs)
        if dim == -1 or (rank is not None and dim == rank - 1):
            return _mix(w.val(a["other"]))
    raise Stop("matmul of two activations")


def _mix(v: Val) -> Val:
    """A convex mix over V's rows (dim -2): V's moments averaged over positions (the variance an upper bound)."""
    rank = max(v.mean.dim(), 2)
    m, s = pad_rank(v.mean, rank), pad_rank(v.var, rank)
    return make_val(m.mean(-2, keepdim=True), s.mean(-2, keepdim=True))


def sdpa(w: Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    v = w.val(a["value"])
    out = _mix(v)
    if a.get("enable_gqa") and out.mean.dim() >= 3:
        q, k = w.shape(a["query"]), w.shape(a["value"])
        if q is None or k is None:
            raise Stop("head counts unknown")
        r = q[-3] // k[-3]
        if r > 1 and pad_rank(out.mean, 3).shape[-3] > 1:
            m, s = pad_rank(out.mean, 3), pad_rank(out.var, 3)
            out = make_val(m.repeat_interleave(r, -3), s.repeat_interleave(r, -3))
    return with_extras(node, out, "attention statistics")
