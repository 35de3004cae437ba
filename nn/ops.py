"""Detection ops with torchvision.ops's names (``from nn import ops`` for ``from torchvision import ops``).

The ops live in ``autograd/ops/detection.py``; this module gathers them.
"""

from autograd.ops.detection import (
    batched_nms, box_area, box_convert, box_iou, generalized_box_iou, generalized_box_iou_loss, nms,
)
