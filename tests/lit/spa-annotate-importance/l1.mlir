// RUN: spa-opt %inputs/ranked.mlir -p 'spa-propagate-channels,spa-form-groups,spa-annotate-importance{criterion=l1}' | filecheck %s
// RUN: spa-opt %inputs/ranked.mlir -p 'spa-propagate-channels,spa-form-groups,spa-annotate-importance{criterion=random seed=3}' | filecheck %s --check-prefix=RANDOM
// RUN: not spa-opt %inputs/ranked.mlir -p 'spa-propagate-channels,spa-form-groups,spa-annotate-importance{criterion=nope}' 2>&1 | filecheck %s --check-prefix=BAD
// conv1's channels have L1 norms 2, 6, 1, 4 in conv1.weight (bias is zero, conv2's columns equal):
// scores follow that order. Frozen groups get no scores.

// CHECK: spa.group @g{{[0-9]+}} {size = 2 : i64, {{.*}}frozen = [#spa.reason<"model input">]}{{$}}
// CHECK: spa.group @g{{[0-9]+}} {size = 4 : i64, {{.*}}scores = array<f64: 1.61{{[0-9]+}}, 2.84{{[0-9]+}}, 1.30{{[0-9]+}}, 2.23{{[0-9]+}}>}
// RANDOM: spa.group @g{{[0-9]+}} {size = 4 : i64, {{.*}}scores = array<f64: {{.*}}>}
// BAD: error: unknown criterion 'nope' (known: l1, l2, random, bn-scale, fpgm, lamp, taylor, hessian, obd-c, hrank, thinet, cp, wanda-sp, flap, obspa, snip, grasp, crop)
