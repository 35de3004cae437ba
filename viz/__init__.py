"""Computation-graph rendering with graphviz, and plots of gradients and training curves.

- ``make_dot(output)``: the autograd graph of a tensor (ops with attributes, named parameters,
  shapes, values of small tensors, gradient colours, saved arrays, broadcast and skip edges).
- ``draw_model(model, *inputs)``: a model's graph grouped into module clusters, collapsed below a depth.
- ``to_json(...)``: the same graph as JSON, with ids stable across runs.
- ``draw_explanation(autograd.explain(loss, x, index))``: that graph with the paths of one gradient element
  drawn by the gradient each carried.
- ``capture_grads(output)``: call before ``backward()`` to colour every op by its gradient afterwards.
- ``plot_grad_flow(model)``, ``plot_history(metrics)``, ``plot_gradcheck_sweep(fn, inputs)`` (finite-difference
  error against step size) and ``plot_backward_check(report)``: matplotlib figures (matplotlib is optional).
"""

from .dot import Digraph, GraphvizNotFoundError, make_dot
from .explain import draw_explanation
from .graph import Graph, build_graph, capture_grads, to_json
from .model import draw_model
from .plots import plot_backward_check, plot_grad_flow, plot_gradcheck_sweep, plot_history

