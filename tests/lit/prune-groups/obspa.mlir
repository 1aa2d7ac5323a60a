// RUN: rm -rf %t && mkdir -p %t
// RUN: spa-opt %inputs/bn_ranked.mlir --prune-groups='ratio=0.5 criterion=obspa source=identity' --print-between-passes -o %t/p.mlir 2>&1 | filecheck %s
// RUN: filecheck %s --check-prefix=OUT < %t/p.mlir
// RUN: spa-opt %inputs/bn_ranked.mlir --prune-groups='ratio=0.5 criterion=obspa source=identity compensate=none' --print-between-passes -o %t/q.mlir 2>&1 | filecheck %s --check-prefix=NONE
// RUN: spa-opt %inputs/bn_ranked.mlir --prune-groups='ratio=0.5 criterion=l1 compensate=obspa source=identity' --print-between-passes -o %t/r.mlir 2>&1 | filecheck %s --check-prefix=ADDED
// RUN: not spa-opt %inputs/bn_ranked.mlir --prune-groups='ratio=0.5 criterion=obspa source=data' -o %t/s.mlir 2>&1 | filecheck %s --check-prefix=NODATA
// RUN: not spa-opt %inputs/bn_ranked.mlir --prune-groups='ratio=0.5 compensate=yes' -o %t/s.mlir 2>&1 | filecheck %s --check-prefix=BADMODE
// RUN: not spa-opt %inputs/bn_ranked.mlir --prune-groups='ratio=0.5 criterion=obspa source=guess' -o %t/s.mlir 2>&1 | filecheck %s --check-prefix=BADSOURCE
// RUN: not spa-opt %inputs/bn_ranked.mlir --prune-groups='ratio=0.5 compensate=obspa source=identity order=backwards' -o %t/s.mlir 2>&1 | filecheck %s --check-prefix=BADORDER
// criterion=obspa runs spa-obspa-compensate between selection and elimination by default; compensate=none
// leaves it out; compensate=obspa adds it to another criterion. source=identity scores conv1's channels by
// conv2's columns alone (½‖W[:, c]‖² with H = I: conv2 reads 0.5 from each, so all tie and the lowest index
// goes; each member vector is shown over its mean) and refits nothing (plain removal).

// CHECK: IR after spa-annotate-importance:
// CHECK: criterion = "obspa", scores = array<f64: 1.000000e+00, 1.000000e+00, 1.000000e+00, 1.000000e+00>
// CHECK: IR after spa-select-channels:
// CHECK: IR after spa-obspa-compensate:
// CHECK: spa.compensation = {source = "identity", order = "prefix", damp = 1.000000e-02 : f64, sequential = 0 : i64, refitted = 0 : i64, plain = 1 : i64
// OUT-NOT: spa.compensation

// NONE-NOT: IR after spa-obspa-compensate
// ADDED: criterion = "l1"
// ADDED: IR after spa-obspa-compensate:

// NODATA: spa-opt: error: obspa source=data needs calibration data: give --calib FILE (or calib= in the API), or use source=synthetic|stats|identity
// BADMODE: spa-opt: error: spa-prune-groups: unknown compensate 'yes' (known: obspa, none)
// BADSOURCE: spa-opt: error: {{.*}}unknown source 'guess' (known: auto, data, synthetic, stats, identity)
// BADORDER: spa-opt: error: spa-obspa-compensate: unknown order 'backwards' (known: prefix, original)
