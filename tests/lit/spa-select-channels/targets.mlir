// RUN: spa-opt %inputs/two_groups.mlir -p 'spa-propagate-channels,spa-form-groups,spa-annotate-importance,spa-select-channels{keep-flops=0.375}' | filecheck %s --check-prefix=FLOPS
// RUN: spa-opt %inputs/two_groups.mlir -p 'spa-propagate-channels,spa-form-groups,spa-annotate-importance,spa-select-channels{keep-params=0.65}' | filecheck %s --check-prefix=PARAMS
// RUN: spa-opt %inputs/two_groups.mlir -p 'spa-propagate-channels,spa-form-groups,spa-annotate-importance,spa-select-channels' | filecheck %s --check-prefix=DEFAULT
// RUN: not spa-opt %inputs/two_groups.mlir -p 'spa-propagate-channels,spa-form-groups,spa-annotate-importance,spa-select-channels{keep-flops=0.5}' 2>&1 | filecheck %s --check-prefix=BETWEEN
// RUN: not spa-opt %inputs/two_groups.mlir -p 'spa-propagate-channels,spa-form-groups,spa-annotate-importance,spa-select-channels{keep-flops=0.1}' 2>&1 | filecheck %s --check-prefix=FLOOR
// RUN: not spa-opt %inputs/two_groups.mlir -p 'spa-propagate-channels,spa-form-groups,spa-annotate-importance,spa-select-channels{ratio=0.5 keep-params=0.5}' 2>&1 | filecheck %s --check-prefix=BOTH
// Local scope meets a FLOPs / params target with one ratio for both groups (found by bisection): with k
// channels kept in each, FLOPs = 2 (k^2 + 4k) of 64, i.e. 0.375 at k = 2 and 0.656 at k = 3.

// FLOPS: spa.selection = {scope = "local", target = "keep-flops", value = 3.750000e-01 : f64, flops = 3.750000e-01 : f64, params = 3.750000e-01 : f64}
// FLOPS: spa.group @g1 {{.*}}removed = array<i64: 0, 1>}
// FLOPS: spa.group @g3 {{.*}}removed = array<i64: 0, 2>}

// 0.65 is within 0.02 of 0.656 (k = 3).
// PARAMS: spa.selection = {scope = "local", target = "keep-params", value = 6.500000e-01 : f64, flops = 6.562500e-01 : f64, params = 6.562500e-01 : f64}
// PARAMS: spa.group @g1 {{.*}}removed = array<i64: 0>}
// PARAMS: spa.group @g3 {{.*}}removed = array<i64: 0>}

// No target: ratio 0.5, as before targets existed.
// DEFAULT: spa.selection = {scope = "local", target = "ratio", value = 5.000000e-01 : f64, flops = 3.750000e-01 : f64
// DEFAULT: spa.group @g1 {{.*}}removed = array<i64: 0, 1>}

// Between two reachable values (0.375, 0.656) and more than 0.02 from both; the floors (one channel per group) bound
// the least: 2 (1 + 4) / 64.
// BETWEEN: {{^}}spa-opt: error: spa-select-channels: keep-flops=0.5 is out of reach under scope local: the closest reachable value is 0.3750
// FLOOR: {{^}}spa-opt: error: spa-select-channels: keep-flops=0.1 is out of reach under scope local: the closest reachable value is 0.1562
// BOTH: {{^}}spa-opt: error: spa-select-channels: ratio and keep-params are exclusive: give one target
