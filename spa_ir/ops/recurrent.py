"""Recurrent layers (LSTM, GRU): hidden units as channels, gate blocks frozen, layers coupled through
the stacked states."""

from __future__ import annotations

from xdsl.ir import Operation

from spa_ir.channels.propagation import Propagation
from spa_ir.channels.spaces import Anon, Cat, Layout, Prod, Reason
from spa_ir.core.ir import site
from spa_ir.ops.common import fresh, unify_all
from spa_ir.ops.spec import OpSpec, Rule, arg, table


def recurrent(gates: int, hidden_list: bool) -> Rule:
    """lstm.input / gru.input(input, hx, params, has_biases, num_layers, dropout, train, bidirectional,
    batch_first). Per layer and direction the weights are w_ih [G*H, I], w_hh [G*H, H] (+ b_ih, b_hh):
    rows are gate-major (G gates of H units), so rows = gates x hidden with the gate count frozen; the
    hidden units of a layer are its w_hh columns. A layer's input is the previous layer's output (both
    directions concatenated). The stacked states h0/c0/h_n/c_n put every layer in one tensor, so all
    layers' hidden spaces are coupled. Exact when the initial state is zero on removed units: their
    gates see 0, so their cell and hidden states stay 0."""

    def rule(p: Propagation, op: Operation) -> None:
        x = arg(op, "input")
        items = p.list_items.get(arg(op, "params"))
        has_biases, layers = p.const(arg(op, "has_biases")), p.const_int(arg(op, "num_layers"))
        bidirectional = p.const(arg(op, "bidirectional"))  # batch_first moves only non-channel dims
        if items is None or layers is None or not isinstance(bidirectional, bool) or not isinstance(has_biases, bool):
            return p.freeze_op(op, "recurrent layer with non-constant configuration")
        dirs, per = (2 if bidirectional else 1), (4 if has_biases else 2)
        if len(items) != layers * dirs * per:
            return p.freeze_op(op, "recurrent layer with projections or unexpected weights")
        where = site(op)
        prev = p.layout(x)[-1]
        hidden: list[Layout] = []
        for layer in range(layers):
            outs = []
            for d in range(dirs):
                w_ih, w_hh, *biases = items[(layer * dirs + d) * per : (layer * dirs + d + 1) * per]
                h = p.layout(w_hh)[1]
                gate = fresh(p, gates, f"{where} gates")
                p.spaces.freeze(gate, Reason("gate blocks of a recurrent layer", where))
                rows = Prod((gate, h))
                for v in (w_ih, w_hh, *biases):
                    p.spaces.unify(p.layout(v)[0], rows, where)
                p.spaces.unify(p.layout(w_ih)[1], prev, where)
                outs.append(p.spaces.resolve(h))
            prev = p.spaces.resolve(Cat(tuple(outs)) if dirs == 2 else outs[0])
            hidden.extend(outs)
        state = unify_all(p, hidden, where) if hidden else Anon(1)
        hx = arg(op, "hx")
        states = p.list_items.get(hx, []) if hidden_list else [hx]
        for v in states:
            if p.is_tensor(v):
                p.spaces.unify(p.layout(v)[-1], state, where)
        zero = all(p.is_zero(v) for v in states)
        xl = p.layout(x)
        p.set(op.results[0], [*xl[:-1], p.spaces.resolve(prev)], zero=zero)
        for r in op.results[1:]:
            rs = p.shape(r) or ()
            p.set(r, [Anon(n) for n in rs[:-1]] + [p.spaces.resolve(state)], zero=zero)

    return rule


_RECURRENT = "input hx params has_biases num_layers dropout train bidirectional batch_first"

OPS = table(
    {
        "torch.aten.lstm.input": OpSpec(rule=recurrent(gates=4, hidden_list=True)),
        "torch.aten.gru.input": OpSpec(rule=recurrent(gates=3, hidden_list=False)),
    },
    operators={  # no op classes: they arrive as `torch.operator`
        "torch.aten.lstm.input": _RECURRENT,
        "torch.aten.gru.input": _RECURRENT,
    },
)
