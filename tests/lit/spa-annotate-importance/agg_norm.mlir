// RUN: spa-opt %inputs/bn_ranked.mlir -p 'spa-propagate-channels,spa-form-groups,spa-annotate-importance{criterion=l1 agg=first}' | filecheck %s --check-prefix=FIRST
// RUN: spa-opt %inputs/bn_ranked.mlir -p 'spa-propagate-channels,spa-form-groups,spa-annotate-importance{criterion=l1 agg=max}' | filecheck %s --check-prefix=MAX
// RUN: spa-opt %inputs/bn_ranked.mlir -p 'spa-propagate-channels,spa-form-groups,spa-annotate-importance{criterion=bn-scale norm=sum}' | filecheck %s --check-prefix=SUM
// RUN: spa-opt %inputs/bn_ranked.mlir --prune-groups='criterion=l1 agg=first ratio=0.5' | filecheck %s --check-prefix=PIPE
// RUN: not spa-opt %inputs/bn_ranked.mlir -p 'spa-propagate-channels,spa-form-groups,spa-annotate-importance{criterion=l1 agg=median}' 2>&1 | filecheck %s --check-prefix=BADAGG
// RUN: not spa-opt %inputs/bn_ranked.mlir -p 'spa-propagate-channels,spa-form-groups,spa-annotate-importance{criterion=l1 norm=z}' 2>&1 | filecheck %s --check-prefix=BADNORM
// Each member's vector over its mean, combined by agg; the group's vector normalized by norm.

// agg=first: conv1.weight's L1 norms 2, 6, 1, 4 over their mean 3.25.
// FIRST: criterion = "l1", scores = array<f64: 0.61{{[0-9]+}}, 1.84{{[0-9]+}}, 0.30{{[0-9]+}}, 1.23{{[0-9]+}}>}
// agg=max: channel 0 takes bn.weight's 0.9/0.45 = 2, channel 1 conv1's 6/3.25.
// MAX: criterion = "l1", scores = array<f64: 1.99{{[0-9]+}}, 1.84{{[0-9]+}}, 1.20{{[0-9]+}}, 1.59{{[0-9]+}}>}
// norm=sum: |gamma| / sum |gamma| = 0.9/1.8, 0.1/1.8, 0.5/1.8, 0.3/1.8.
// SUM: criterion = "bn-scale", norm = "sum", scores = array<f64: 0.49{{[0-9]+}}, 0.055{{[0-9]+}}, 0.27{{[0-9]+}}, 0.16{{[0-9]+}}>}
// Through the pipeline: agg=first removes conv1's two smallest filters, 0 and 2 (BN keeps scales -0.1, 0.3).
// PIPE: spa.param "conv1.weight" = dense<{{\[\[\[\[}}3.000000e+00]], {{\[\[}}3.000000e+00]]], {{\[\[\[}}2.000000e+00]], {{\[\[}}-2.000000e+00]]]]>
// PIPE: spa.param "bn.weight" = dense<[-1.000000e-01, 3.000000e-01]>

// BADAGG: error: unknown agg 'median' (known: sum, mean, max, prod, first)
// BADNORM: error: unknown norm 'z' (known: none, mean, max, sum, standard, lamp)
