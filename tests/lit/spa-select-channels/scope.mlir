// RUN: spa-opt %inputs/two_groups.mlir -p 'spa-propagate-channels,spa-form-groups,spa-annotate-importance,spa-select-channels{ratio=0.375}' | filecheck %s --check-prefix=LOCAL
// RUN: spa-opt %inputs/two_groups.mlir -p 'spa-propagate-channels,spa-form-groups,spa-annotate-importance,spa-select-channels{ratio=0.375 scope=global}' | filecheck %s --check-prefix=GLOBAL
// RUN: spa-opt %inputs/two_groups.mlir -p 'spa-propagate-channels,spa-form-groups,spa-annotate-importance,spa-select-channels{keep-flops=0.5 scope=global}' | filecheck %s --check-prefix=GFLOPS
// RUN: spa-opt %inputs/two_groups.mlir -p 'spa-propagate-channels,spa-form-groups,spa-annotate-importance,spa-select-channels{ratio=0.75 scope=global}' | filecheck %s --check-prefix=G75
// RUN: spa-opt %inputs/two_groups.mlir -p 'spa-propagate-channels,spa-form-groups,spa-annotate-importance,spa-select-channels{ratio=0.75 scope=protected min-keep-ratio=0.5}' | filecheck %s --check-prefix=PROTECTED
// RUN: not spa-opt %inputs/two_groups.mlir -p 'spa-propagate-channels,spa-form-groups,spa-annotate-importance,spa-select-channels{scope=layer}' 2>&1 | filecheck %s --check-prefix=BAD
// 37.5% of 8 channels: local takes 1 (floor of 1.5) from each group; global takes the three weakest over the
// groups' means (gb 0.52, gb 0.55, ga 0.7), which also meets keep-flops=0.5 exactly (local cannot: targets.mlir).

// LOCAL: spa.group @g1 {{.*}}removed = array<i64: 0>}
// LOCAL: spa.group @g3 {{.*}}removed = array<i64: 0>}
// GLOBAL: spa.selection = {scope = "global", target = "ratio", value = 3.750000e-01 : f64, flops = 5.000000e-01 : f64
// GLOBAL: spa.group @g1 {{.*}}removed = array<i64: 0>}
// GLOBAL: spa.group @g3 {{.*}}removed = array<i64: 0, 2>}
// GFLOPS: spa.selection = {scope = "global", target = "keep-flops", value = 5.000000e-01 : f64, flops = 5.000000e-01 : f64
// GFLOPS: spa.group @g1 {{.*}}removed = array<i64: 0>}
// GFLOPS: spa.group @g3 {{.*}}removed = array<i64: 0, 2>}

// 6 of 8 under global: ga loses 3 (min-keep 1 stops it), gb the rest; protected with min-keep-ratio 0.5 keeps
// 2 of each group, so only 4 go.
// G75: spa.group @g1 {{.*}}removed = array<i64: 0, 1, 2>}
// G75: spa.group @g3 {{.*}}removed = array<i64: 0, 1, 2>}
// PROTECTED: spa.selection = {scope = "protected", target = "ratio", value = 7.500000e-01 : f64, flops = 3.750000e-01 : f64
// PROTECTED: spa.group @g1 {{.*}}removed = array<i64: 0, 1>}
// PROTECTED: spa.group @g3 {{.*}}removed = array<i64: 0, 2>}
// BAD: {{^}}spa-opt: error: spa-select-channels: scope must be local, global, protected; got 'layer'
