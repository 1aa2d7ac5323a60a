// RUN: spa-opt %inputs/two_groups.mlir -p 'spa-propagate-channels,spa-form-groups,spa-annotate-importance,spa-select-channels{ratio=0.5 ignore="conv1\\."}' | filecheck %s --check-prefix=IGNORE
// RUN: spa-opt %inputs/two_groups.mlir -p 'spa-propagate-channels,spa-form-groups,spa-annotate-importance,spa-select-channels{ratio=0.5 overrides="conv3:0.25,conv1:0"}' | filecheck %s --check-prefix=OVERRIDE
// RUN: spa-opt %inputs/two_groups.mlir -p 'spa-propagate-channels,spa-form-groups,spa-annotate-importance,spa-select-channels{keep-flops=0.5 overrides="^conv3:0.5"}' | filecheck %s --check-prefix=FIXED
// RUN: not spa-opt %inputs/two_groups.mlir -p 'spa-propagate-channels,spa-form-groups,spa-annotate-importance,spa-select-channels{overrides="conv3=0.5"}' 2>&1 | filecheck %s --check-prefix=BAD
// RUN: not spa-opt %inputs/two_groups.mlir -p 'spa-propagate-channels,spa-form-groups,spa-annotate-importance,spa-select-channels{ignore="conv("}' 2>&1 | filecheck %s --check-prefix=BADRE
// ignore: groups with a member whose weight name matches (re.search) stay whole: @g1 holds conv1.weight[0].
// overrides: the first pattern matching a member names the group's own ratio (@g3 holds conv3.weight[1]);
// 0 keeps the group whole. A group with its own ratio is outside the target search: with @g3 at 2 of 4,
// keep-flops=0.5 is met by one channel of @g1 (2 (2*3 + 3*2 + 2*2) = 32 of 64).

// IGNORE: spa.group @g1 {{.*}}removed = array<i64>}
// IGNORE: spa.group @g3 {{.*}}removed = array<i64: 0, 2>}
// OVERRIDE: spa.group @g1 {{.*}}removed = array<i64>}
// OVERRIDE: spa.group @g3 {{.*}}removed = array<i64: 0>}
// FIXED: spa.selection = {scope = "local", target = "keep-flops", value = 5.000000e-01 : f64, flops = 5.000000e-01 : f64
// FIXED: spa.group @g1 {{.*}}removed = array<i64: 0>}
// FIXED: spa.group @g3 {{.*}}removed = array<i64: 0, 2>}
// BAD: {{^}}spa-opt: error: spa-select-channels: overrides: 'conv3=0.5' is not pattern:ratio with a ratio in [0, 1)
// BADRE: {{^}}spa-opt: error: spa-select-channels: ignore: 'conv(' is not a regular expression (missing ), unterminated subpattern at position 4)
