"""Shared test setup. Its presence puts ``tests/`` on ``sys.path``, so test modules in any
subdirectory can ``import reference`` (the naive NumPy oracles)."""
