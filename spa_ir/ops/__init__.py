"""Everything spa knows about each op, one module per op family (spa_ir/ops/spec.py says what an entry
holds; spa_ir/ops/registry.py merges the families' tables). Adding an op is adding an entry to its family's
`OPS`; adding a family is adding a module here."""
