"""Tests of gradcnn/utils. A package, so that pytest can tell its test_data.py from tests/data/test_data.py."""
