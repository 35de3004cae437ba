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
- ``backward_steps(loss)`` / ``model_backward_steps(model, *inputs)``: one backward pass recorded in the engine's
  order, replayed node by node in a self-contained HTML player (``.save(path)``, inline in Jupyter).
- ``lint(model, example_input, loss_fn)``: the wiring and settings mistakes of one training step, as a table
  (``print(report)``) and as badges on the graph (``report.draw()``); the rules are ``LINT_RULES``.
- ``HealthMonitor(model, optimizer)``: per-module, per-step gradient, weight, update-ratio, activation and batch norm
  statistics with warnings as rules trip; ``.save(folder)`` writes health.csv, health.json and health.png.
"""

from .dot import Digraph, GraphvizNotFoundError, make_dot
from .explain import draw_explanation
from .graph import Graph, build_graph, capture_grads, to_json
from .health import HealthMonitor
from .lint import RULES as LINT_RULES
from .lint import Finding, LintReport, lint
from .model import draw_model
from .plots import plot_backward_check, plot_grad_flow, plot_gradcheck_sweep, plot_history
from .steps import BackwardSteps, backward_steps, model_backward_steps

