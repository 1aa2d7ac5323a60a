// RUN: spa-opt %inputs/bn_ranked.mlir -p 'spa-propagate-channels,spa-form-groups,spa-annotate-importance{criterion=bn-scale}' | filecheck %s --check-prefix=BN
// RUN: spa-opt %inputs/bn_ranked.mlir -p 'spa-propagate-channels,spa-form-groups,spa-annotate-importance{criterion=fpgm}' | filecheck %s --check-prefix=FPGM
// RUN: spa-opt %inputs/bn_ranked.mlir -p 'spa-propagate-channels,spa-form-groups,spa-annotate-importance{criterion=lamp}' | filecheck %s --check-prefix=LAMP
// RUN: spa-opt %inputs/bn_ranked.mlir -p 'spa-propagate-channels,spa-form-groups,spa-annotate-importance{criterion=l2 norm=lamp}' | filecheck %s --check-prefix=LAMP
// RUN: not spa-opt %inputs/ranked.mlir -p 'spa-propagate-channels,spa-form-groups,spa-annotate-importance{criterion=bn-scale}' 2>&1 | filecheck %s --check-prefix=NOBN
// RUN: not spa-opt %inputs/bn_ranked.mlir -p 'spa-propagate-channels,spa-form-groups,spa-annotate-importance{criterion=taylor}' 2>&1 | filecheck %s --check-prefix=NODATA
// The data-free criteria on conv1's group (filters (1,1), (3,3), (0.5,0.5), (2,-2); BN scales 0.9, -0.1, 0.5, 0.3).

// bn-scale: |gamma| over its mean 0.45, so channel 1 (|-0.1|) ranks lowest, where l1 ranks channel 2 lowest.
// BN: criterion = "bn-scale", scores = array<f64: 1.99{{[0-9]+}}, 0.22{{[0-9]+}}, 1.11{{[0-9]+}}, 0.66{{[0-9]+}}>}

// fpgm: each filter's summed distance to the others (6.70, 11.46, 7.16, 11.18) over the mean; conv2's equal
// columns are all at distance 0 and the 1-D members say nothing. (1,1) is nearest the others: lowest.
// FPGM: criterion = "fpgm", scores = array<f64: 0.73{{[0-9]+}}, 1.25{{[0-9]+}}, 0.78{{[0-9]+}}, 1.22{{[0-9]+}}>}

// lamp = l2 with norm=lamp: v_i^2 over the sum of the v_j^2 not below it; the largest channel scores 1.
// LAMP: scores = array<f64: 0.45{{[0-9]+}}, 0.29{{[0-9]+}}, 0.21{{[0-9]+}}, 1.000000e+00>}

// NOBN: error: group @g{{[0-9]+}} (torch.aten.conv2d): bn-scale needs a BatchNorm weight among the group's members, and it has none
// NODATA: error: spa-annotate-importance needs calibration statistics: run spa-collect-stats with --calib FILE (or calib= in the API)
