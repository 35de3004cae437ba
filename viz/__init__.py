"""Computation-graph rendering with graphviz, and plots of gradients and training curves."""
