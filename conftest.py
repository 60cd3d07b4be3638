"""Doctests run with ``slim`` and ``torch`` imported and a fresh default graph."""

import pytest
import torch

import slimtorch as slim


@pytest.fixture(autouse=True)
def _doctest_namespace(doctest_namespace):
    doctest_namespace["slim"] = slim
    doctest_namespace["torch"] = torch
    slim.reset_default_graph()
    yield
