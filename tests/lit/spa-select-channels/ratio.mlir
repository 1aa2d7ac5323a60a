// RUN: spa-opt %inputs/ranked.mlir -p 'spa-propagate-channels,spa-form-groups,spa-annotate-importance,spa-select-channels{ratio=0.5}' | filecheck %s
// RUN: spa-opt %inputs/ranked.mlir -p 'spa-propagate-channels,spa-form-groups,spa-annotate-importance,spa-select-channels{ratio=0.5 min-keep=3}' | filecheck %s --check-prefix=KEEP3
// RUN: spa-opt %inputs/ranked.mlir -p 'spa-propagate-channels,spa-form-groups,spa-annotate-importance,spa-select-channels{ratio=0.3 round-to=2}' | filecheck %s --check-prefix=ROUND
// The two weakest channels (norms 1 and 2: channels 2 and 0) go.
// CHECK: spa.group @g{{[0-9]+}} {size = 4 : i64, {{.*}}removed = array<i64: 0, 2>}
// KEEP3: spa.group @g{{[0-9]+}} {size = 4 : i64, {{.*}}removed = array<i64: 2>}
// 30% of 4 is 1 channel; keeping 3 rounds up to 4: nothing is removed.
// ROUND: spa.group @g{{[0-9]+}} {size = 4 : i64, {{.*}}removed = array<i64>}
