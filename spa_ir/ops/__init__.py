"""Everything spa knows about each op, one module per op family (see spa_ir/ops/spec.py for what an entry
holds and spa_ir/ops/registry.py for the merged table). Adding an op is adding an entry to its family's
`OPS`; adding a family is adding a module and naming it in `registry.FAMILIES`."""
