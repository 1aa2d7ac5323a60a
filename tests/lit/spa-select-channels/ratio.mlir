// RUN: spa-opt %inputs/ranked.mlir -p 'spa-propagate-channels,spa-form-groups,spa-annotate-importance,spa-select-channels{ratio=0.5}' | filecheck %s
// RUN: spa-opt %inputs/ranked.mlir -p 'spa-propagate-channels,spa-form-groups,spa-annotate-importance,spa-select-channels{ratio=0.5 min-keep=3}' | filecheck %s --check-prefix=KEEP3
// RUN: spa-opt %inputs/ranked.mlir -p 'spa-propagate-channels,spa-form-groups,spa-annotate-importance,spa-select-channels{ratio=0.3 round-to=2}' | filecheck %s --check-prefix=ROUND
// The two weakest channels (norms 1 and 2: channels 2 and 0) go.
// CHECK: spa.group @g{{[0-9]+}} {size = 4 : i64, {{.*}}removed = array<i64: 0, 2>}
// KEEP3: spa.group @g{{[0-9]+}} {size = 4 : i64, {{.*}}removed = array<i64: 2>}
// 30% of 4 is 1 channel; keeping 3 rounds up to 4: nothing is removed.
// ROUND: spa.group @g{{[0-9]+}} {size = 4 : i64, {{.*}}removed = array<i64>}
// RUN: spa-opt %inputs/two_groups.mlir -p 'spa-propagate-channels,spa-form-groups,spa-annotate-importance,spa-select-channels{keep-flops=0.375 round-to=2}' | filecheck %s --check-prefix=ROUNDFLOPS
// RUN: not spa-opt %inputs/two_groups.mlir -p 'spa-propagate-channels,spa-form-groups,spa-annotate-importance,spa-select-channels{keep-flops=0.656 round-to=2}' 2>&1 | filecheck %s --check-prefix=ROUNDOUT
// round-to applies inside a target search: kept counts are multiples of 2, so 3 kept (0.656 of the FLOPs)
// is not a candidate and keep-flops=0.656 is out of reach (the closest: 2 kept, 0.375).
// ROUNDFLOPS: spa.group @g1 {{.*}}removed = array<i64: 0, 1>}
// ROUNDFLOPS: spa.group @g3 {{.*}}removed = array<i64: 0, 2>}
// ROUNDOUT: error: spa-select-channels: keep-flops=0.656 is out of reach under scope local: the closest reachable value is 0.3750
