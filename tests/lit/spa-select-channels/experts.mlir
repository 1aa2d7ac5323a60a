// RUN: spa-opt %inputs/moe.mlir -p 'spa-propagate-channels,spa-form-groups,spa-annotate-importance,spa-select-channels{ratio=0.5}' | filecheck %s --check-prefix=HALF
// RUN: spa-opt %inputs/moe.mlir -p 'spa-propagate-channels,spa-form-groups,spa-annotate-importance,spa-select-channels{ratio=0.8}' | filecheck %s --check-prefix=TOPK
// RUN: spa-opt %inputs/moe.mlir -p 'spa-propagate-channels,spa-form-groups,spa-annotate-importance,spa-select-channels{ratio=0.5 ignore="router"}' | filecheck %s --check-prefix=IGNORE
// RUN: spa-opt %inputs/moe.mlir -p 'spa-propagate-channels,spa-form-groups,spa-annotate-importance,spa-select-channels{ratio=0.8 overrides="router:0.25"}' | filecheck %s --check-prefix=OVERRIDE
// Experts are a group like any other (the router's rows with the experts' dim 0), which keeps at least the
// router's top-k (2 of 4 here) whatever the ratio; `ignore` on the router's weight keeps every expert,
// `overrides` gives the experts their own ratio. The experts' neurons are (expert, neuron) pairs, 5 per expert,
// each expert losing as many (2 of 5 at 0.5, 4 at 0.8: each keeps one).

// HALF: spa.group @g4 {{.*}}removed = array<i64: {{[0-9]+}}, {{[0-9]+}}>}
// HALF: spa.group @g7 {{.*}}slices = 4 : i64{{.*}}removed = array<i64: {{([0-9]+, ){7}[0-9]+}}>}
// TOPK: spa.group @g4 {{.*}}removed = array<i64: {{[0-9]+}}, {{[0-9]+}}>}
// TOPK: spa.group @g7 {{.*}}slices = 4 : i64{{.*}}removed = array<i64: {{([0-9]+, ){15}[0-9]+}}>}
// IGNORE: spa.group @g4 {{.*}}removed = array<i64>}
// IGNORE: spa.group @g7 {{.*}}removed = array<i64: {{([0-9]+, ){7}[0-9]+}}>}
// OVERRIDE: spa.group @g4 {{.*}}removed = array<i64: {{[0-9]+}}>}
