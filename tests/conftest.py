"""Shared test settings: float64 tolerances and a fixed seed for every test."""

import pytest

import autograd


@pytest.fixture(autouse=True)
def _seed():
    autograd.manual_seed(0)
