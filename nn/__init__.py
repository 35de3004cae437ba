"""Neural-network building blocks: modules, layers, init, functional ops, models and data."""

from . import functional
