"""Calibration: data given by the user (`data.py`), the statistics collected by running the emitted module on it
(`collect.py`), their kinds (`kinds.py`) and the store that keeps them beside the IR (`store.py`)."""
