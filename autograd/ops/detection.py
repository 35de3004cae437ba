"""Object-detection box ops with torchvision.ops's names and semantics, exported as ``nn.ops``.

Boxes are (N, 4) rows ``(x1, y1, x2, y2)`` with ``x1 <= x2`` and ``y1 <= y2`` unless a function says otherwise.
The IoU family is a composition of maximum, minimum, clamp and arithmetic, so it is differentiable in the boxes
(``generalized_box_iou_loss`` is the training loss of DETR-style detectors). ``nms`` and ``batched_nms`` select
indices and have no gradient.

Non-max suppression is greedy, as in torchvision: boxes are visited by decreasing score (equal scores by
position, a stable sort), and each box still standing removes every later box whose IoU with it is *greater*
than the threshold (an IoU equal to it survives). One vectorised IoU row is computed per kept box; the visit
order is inherently sequential.
"""

from __future__ import annotations

import numpy as np

from ..errors import OpError
from ..tensor import Tensor, wrap
from .elementwise import maximum, minimum
from .indexing import where
from .shape import stack

_FORMATS = ("xyxy", "xywh", "cxcywh")


def _boxes(op: str, boxes: Tensor, name: str = "boxes") -> Tensor:
    """``boxes`` checked as (N, 4) and in a floating dtype (integer boxes are promoted to float32, as
    torchvision's ``_upcast`` does, so that areas do not overflow)."""
    if boxes.ndim != 2 or boxes.shape[-1] != 4:
        raise OpError(f"{op}: {name} must be (N, 4), got shape {tuple(boxes.shape)}")
    return boxes if boxes.dtype.kind == "f" else boxes.to(np.float32)


def box_area(boxes: Tensor) -> Tensor:
    """The area of each box.

    Args:
        boxes: (N, 4) in ``(x1, y1, x2, y2)`` format.

    Returns:
        Tensor of shape (N,).
    """
    boxes = _boxes("box_area", boxes)
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])


def _inter_union(op: str, boxes1: Tensor, boxes2: Tensor) -> tuple[Tensor, Tensor]:
    """Pairwise (N, M) intersection and union areas."""
    boxes1, boxes2 = _boxes(op, boxes1, "boxes1"), _boxes(op, boxes2, "boxes2")
    top_left = maximum(boxes1[:, None, :2], boxes2[None, :, :2])
    bottom_right = minimum(boxes1[:, None, 2:], boxes2[None, :, 2:])
    size = (bottom_right - top_left).clamp(min=0)
    inter = size[..., 0] * size[..., 1]
    union = box_area(boxes1)[:, None] + box_area(boxes2)[None, :] - inter
    return inter, union


def box_iou(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """Intersection over union (Jaccard index) of every pair of boxes.

    Args:
        boxes1: (N, 4) in ``(x1, y1, x2, y2)`` format.
        boxes2: (M, 4) in the same format.

    Returns:
        Tensor of shape (N, M), ``iou[i, j] = |b1_i & b2_j| / |b1_i | b2_j|`` (NaN for two empty boxes, 0/0).
    """
    inter, union = _inter_union("box_iou", boxes1, boxes2)
    return inter / union


def generalized_box_iou(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """Generalized IoU (Rezatofighi et al. 2019) of every pair: ``iou - (|C| - |union|) / |C|`` with C the
    smallest box enclosing both; in [-1, 1], and informative for boxes that do not overlap.

    Args:
        boxes1: (N, 4) in ``(x1, y1, x2, y2)`` format.
        boxes2: (M, 4) in the same format.

    Returns:
        Tensor of shape (N, M).
    """
    inter, union = _inter_union("generalized_box_iou", boxes1, boxes2)
    boxes1, boxes2 = _boxes("generalized_box_iou", boxes1), _boxes("generalized_box_iou", boxes2)
    top_left = minimum(boxes1[:, None, :2], boxes2[None, :, :2])
    bottom_right = maximum(boxes1[:, None, 2:], boxes2[None, :, 2:])
    size = (bottom_right - top_left).clamp(min=0)
    enclosing = size[..., 0] * size[..., 1]
    return inter / union - (enclosing - union) / enclosing


def box_convert(boxes: Tensor, in_fmt: str, out_fmt: str) -> Tensor:
    """Convert boxes between ``'xyxy'`` (corners), ``'xywh'`` (top-left corner and size) and ``'cxcywh'``
    (centre and size). Differentiable.

    Args:
        boxes: (N, 4) in ``in_fmt``.
        in_fmt, out_fmt: one of ``'xyxy'``, ``'xywh'``, ``'cxcywh'``.

    Returns:
        Tensor of shape (N, 4) in ``out_fmt``.
    """
    op = "box_convert"
    for name, fmt in (("in_fmt", in_fmt), ("out_fmt", out_fmt)):
        if fmt not in _FORMATS:
            raise ValueError(f"{op}: unsupported {name} {fmt!r}; expected one of {', '.join(map(repr, _FORMATS))}")
    if boxes.ndim != 2 or boxes.shape[-1] != 4:
        raise OpError(f"{op}: boxes must be (N, 4), got shape {tuple(boxes.shape)}")
    if in_fmt == out_fmt:
        return boxes.clone()
    a, b, c, d = (boxes[:, i] for i in range(4))
    if in_fmt == "xywh":
        a, b, c, d = a, b, a + c, b + d
    elif in_fmt == "cxcywh":
        a, b, c, d = a - 0.5 * c, b - 0.5 * d, a + 0.5 * c, b + 0.5 * d
    if out_fmt == "xywh":
        a, b, c, d = a, b, c - a, d - b
    elif out_fmt == "cxcywh":
        a, b, c, d = (a + c) / 2, (b + d) / 2, c - a, d - b
    return stack([a, b, c, d], dim=-1)


def _greedy_nms(op: str, boxes: Tensor, scores: Tensor, iou_threshold: float,
                groups: np.ndarray | None) -> Tensor:
    """Indices kept by greedy NMS, by decreasing score; with ``groups``, boxes suppress only their own group."""
    boxes = _boxes(op, boxes)
    if scores.ndim != 1 or scores.shape[0] != boxes.shape[0]:
        raise OpError(f"{op}: scores must be (N,) for boxes of shape {tuple(boxes.shape)}, got "
                      f"{tuple(scores.shape)}")
    corners = boxes.data
    order = np.argsort(-scores.data, kind="stable")
    corners = corners[order]
    areas = (corners[:, 2] - corners[:, 0]) * (corners[:, 3] - corners[:, 1])
    same_group = None if groups is None else groups[order]
    removed = np.zeros(len(order), np.bool_)
    kept = []
    i = 0
    while i < len(order):  # one vectorised step per kept box
        kept.append(i)
        later = corners[i + 1:]
        size = np.clip(np.minimum(corners[i, 2:], later[:, 2:]) - np.maximum(corners[i, :2], later[:, :2]), 0, None)
        inter = size[:, 0] * size[:, 1]
        overlapping = inter / (areas[i] + areas[i + 1:] - inter) > iou_threshold
        if same_group is not None:
            overlapping &= same_group[i + 1:] == same_group[i]
        removed[i + 1:] |= overlapping
        standing = np.flatnonzero(~removed[i + 1:])
        i = i + 1 + int(standing[0]) if standing.size else len(order)
    return wrap(order[np.asarray(kept, np.int64)].astype(np.int64))


def nms(boxes: Tensor, scores: Tensor, iou_threshold: float) -> Tensor:
    """Non-maximum suppression: keep the highest-scoring box, drop every box overlapping it by IoU greater than
    ``iou_threshold``, and repeat with the next box still standing.

    Args:
        boxes: (N, 4) in ``(x1, y1, x2, y2)`` format.
        scores: (N,) score of each box.
        iou_threshold: boxes with IoU > this (strictly) with a kept box are discarded.

    Returns:
        int64 Tensor of the kept boxes' indices, by decreasing score (equal scores by index); empty for N = 0.
    """
    return _greedy_nms("nms", boxes, scores, iou_threshold, None)


def batched_nms(boxes: Tensor, scores: Tensor, idxs: Tensor | np.ndarray, iou_threshold: float) -> Tensor:
    """Non-maximum suppression within each category: boxes of different ``idxs`` never suppress each other.

    Args:
        boxes: (N, 4) in ``(x1, y1, x2, y2)`` format.
        scores: (N,) score of each box.
        idxs: (N,) integer category of each box.
        iou_threshold: as in ``nms``.

    Returns:
        int64 Tensor of the kept boxes' indices, by decreasing score.
    """
    groups = idxs.data if isinstance(idxs, Tensor) else np.asarray(idxs)
    if groups.shape != (boxes.shape[0],):
        raise OpError(f"batched_nms: idxs must be (N,) for boxes of shape {tuple(boxes.shape)}, got {groups.shape}")
    return _greedy_nms("batched_nms", boxes, scores, iou_threshold, groups)


def generalized_box_iou_loss(boxes1: Tensor, boxes2: Tensor, reduction: str = "none", eps: float = 1e-7) -> Tensor:
    """``1 - GIoU`` of matching boxes (row i of ``boxes1`` with row i of ``boxes2``): 0 for identical boxes,
    up to 2 for distant ones. Differentiable, as in torchvision.

    Args:
        boxes1: (N, 4) or (4,) predicted boxes in ``(x1, y1, x2, y2)`` format.
        boxes2: the target boxes, of the same shape.
        reduction: ``'none'``, ``'mean'`` or ``'sum'`` (the mean of no boxes is 0, as in torchvision).
        eps: added to the union and enclosing areas against division by zero.

    Returns:
        the loss per box pair, or reduced.
    """
    op = "generalized_box_iou_loss"
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{op}: invalid reduction {reduction!r}; expected 'none', 'mean' or 'sum'")
    if boxes1.shape != boxes2.shape or boxes1.shape[-1:] != (4,):
        raise OpError(f"{op}: boxes1 and boxes2 must both be (..., 4) of one shape, got {tuple(boxes1.shape)} "
                      f"and {tuple(boxes2.shape)}")
    boxes1 = boxes1 if boxes1.dtype.kind == "f" else boxes1.to(np.float32)
    boxes2 = boxes2 if boxes2.dtype.kind == "f" else boxes2.to(np.float32)
    x1, y1, x2, y2 = (boxes1[..., i] for i in range(4))
    x1g, y1g, x2g, y2g = (boxes2[..., i] for i in range(4))
    width, height = minimum(x2, x2g) - maximum(x1, x1g), minimum(y2, y2g) - maximum(y1, y1g)
    # Where the boxes do not overlap the intersection is 0 (and passes no gradient).
    inter = where((width.data > 0) & (height.data > 0), width * height, 0.0)
    union = (x2 - x1) * (y2 - y1) + (x2g - x1g) * (y2g - y1g) - inter
    enclosing = (maximum(x2, x2g) - minimum(x1, x1g)) * (maximum(y2, y2g) - minimum(y1, y1g))
    loss = 1 - (inter / (union + eps) - (enclosing - union) / (enclosing + eps))
    if reduction == "sum":
        return loss.sum()
    if reduction == "mean":
        return loss.mean() if loss.data.size else loss.sum()
    return loss
