"""Elementwise ops: clamps (the clipped Gaussian in closed form), smooth activations (quadrature), arithmetic with
constants (exact) or of two values (independent, or one function of the same Gaussian), and the ops that pass a
value through (copies, casts, eval dropout).

A value that is an elementwise function of one Gaussian keeps that Gaussian and the function (`Val.src`, `Val.fn`),
so a chain (`x * sigmoid(x)`) is integrated as one function and its factors' dependence is kept."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch
import torch.fx as fx

from spa_ir.compensation.moments.gaussian import clipped, expect
from spa_ir.compensation.moments.ops import CLIPS, DROPOUTS, MONOTONE
from spa_ir.compensation.moments.values import (
    Const,
    Entry,
    Fn,
    Items,
    Stop,
    Unknown,
    Val,
    f64,
    make_val,
    op_name,
    packet,
)

if TYPE_CHECKING:
    from spa_ir.compensation.moments.walk import Walk


def gauss(v: Val) -> tuple[Val, Fn]:
    """The Gaussian a value is an elementwise function of, and that function."""
    if v.src is not None and v.fn is not None:
        return v.src, v.fn
    return v, ident


def ident(t: torch.Tensor) -> torch.Tensor:
    return t


def _unary(x: Val, op: Fn, monotone: bool, clip: tuple[float, float] | None) -> Val:
    """op(x): the clipped Gaussian in closed form when x is Gaussian and op a clamp, else quadrature over the
    Gaussian x is a function of."""
    src, f = gauss(x)
    if clip is not None and x.src is None:
        mean, var = clipped(f64(x.mean), f64(x.var), *clip)
    else:
        mean, var = expect(lambda z: op(f(z)), src.mean, src.var)
    return make_val(mean, var, src=src, fn=lambda z: op(f(z)), monotone=x.monotone and monotone)


def clip_rule(w: Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    lo, hi = CLIPS[packet(node)](a)
    return _unary(w.val(a["self"]), lambda t: t.clamp(lo, hi), True, (lo, hi))


def quad_rule(w: Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    p = packet(node)
    x = w.val(node.args[0])
    rest, kwargs = node.args[1:], dict(node.kwargs)
    if any(isinstance(r, fx.Node) for r in rest) or any(isinstance(r, fx.Node) for r in kwargs.values()):
        raise Stop("a tensor operand besides the input")
    target = node.target
    assert callable(target)
    monotone = p in MONOTONE and not (p == "aten.leaky_relu" and float(a["negative_slope"]) < 0)
    monotone = monotone and not (p in ("aten.elu", "aten.celu") and float(a.get("alpha", 1)) < 0)
    return _unary(x, lambda t: target(t, *rest, **kwargs), monotone, None)


def _operand(w: Walk, arg: Any) -> Val | torch.Tensor:
    """A constant as a float64 tensor, else the operand's moments."""
    e = w.entry(arg)
    if isinstance(e, Const) and isinstance(e.value, (torch.Tensor, int, float, bool)):
        return f64(e.value)
    return w.val(arg)


_BINARY: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "add": torch.add,
    "sub": torch.sub,
    "mul": torch.mul,
    "div": torch.div,
}


def binary(w: Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    p = packet(node).split(".")[-1]
    alpha = float(a.get("alpha", 1))
    x, y = _operand(w, a["self"]), _operand(w, a["other"])
    if p == "rsub":
        p, x, y = "sub", y, x
    if p in ("sub", "add") and alpha != 1:
        y = _scaled(y, alpha)
        alpha = 1.0
    if p == "div" and a.get("rounding_mode") is not None:
        raise Stop("rounded division")
    op = _BINARY[p]
    if isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor):
        return Const(op(x, y))
    if isinstance(x, torch.Tensor):
        assert isinstance(y, Val)
        if p == "div":
            raise Stop("division by an activation")
        return _with_const(y, x, p, swapped=True)
    if isinstance(y, torch.Tensor):
        return _with_const(x, y, p, swapped=False)
    return _two_vals(x, y, p)


def _scaled(v: Val | torch.Tensor, c: float) -> Val | torch.Tensor:
    if isinstance(v, torch.Tensor):
        return v * c
    src, f = gauss(v)
    return make_val(v.mean * c, v.var * c * c, src=src, fn=lambda z: f(z) * c, monotone=v.monotone and c >= 0)


def _with_const(x: Val, c: torch.Tensor, p: str, *, swapped: bool) -> Val:
    """x op c (c op x when swapped): exact moments, the elementwise chain kept."""
    src, f = gauss(x)
    if p == "add":
        return make_val(x.mean + c, x.var, src=src, fn=lambda z: f(z) + c, monotone=x.monotone)
    if p == "sub" and not swapped:
        return make_val(x.mean - c, x.var, src=src, fn=lambda z: f(z) - c, monotone=x.monotone)
    if p == "sub":
        return make_val(c - x.mean, x.var, src=src, fn=lambda z: c - f(z), monotone=False)
    if p == "mul":
        up = x.monotone and bool((c >= 0).all())
        return make_val(x.mean * c, x.var * c * c, src=src, fn=lambda z: f(z) * c, monotone=up)
    if bool((c == 0).any()):
        raise Stop("division by zero")
    up = x.monotone and bool((c > 0).all())
    return make_val(x.mean / c, x.var / (c * c), src=src, fn=lambda z: f(z) / c, monotone=up)


def _two_vals(x: Val, y: Val, p: str) -> Val:
    """Two activations: one function of the same Gaussian is integrated; otherwise they are independent."""
    sx, fx_ = gauss(x)
    sy, fy = gauss(y)
    op = _BINARY[p]
    if sx is sy:
        fn = lambda z: op(fx_(z), fy(z))  # noqa: E731
        mean, var = expect(fn, sx.mean, sx.var)
        return make_val(mean, var, src=sx, fn=fn, monotone=False)
    if p in ("add", "sub"):
        return make_val(op(x.mean, y.mean), x.var + y.var)
    if p == "mul":
        return make_val(x.mean * y.mean, x.var * y.var + x.var * y.mean**2 + y.var * x.mean**2)
    raise Stop("division by an activation")


def neg(w: Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    x = _scaled(w.val(a["self"]), -1.0)
    assert isinstance(x, Val)
    return x


def identity(w: Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    """Copies, casts to a float type and eval dropout: the input's moments."""
    first = node.args[0]
    if packet(node) in DROPOUTS and a.get("train"):
        raise Stop("dropout in training mode")
    dtype = a.get("dtype")
    if isinstance(dtype, torch.dtype) and not dtype.is_floating_point:
        raise Stop(f"a cast to {dtype}")
    return w.val(first)


def native_dropout(w: Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    if a.get("train"):
        raise Stop("dropout in training mode")
    return Items((w.val(a["input"]), Unknown(f"{op_name(node)} (node {node.name}): the dropout mask")))
