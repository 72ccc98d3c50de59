"""Tests of gradcnn/nn. A package, so that pytest can tell its test_loss.py from tests/ops/test_loss.py."""
