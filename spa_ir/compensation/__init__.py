"""OBSPA: optimal-brain-surgeon compensation of the kept weights for the channels a plan removes."""
