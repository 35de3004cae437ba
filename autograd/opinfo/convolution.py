"""Samples for convolution and pooling in 2-d and 3-d: strides, padding (incl. 'same'), dilation, groups, ceil_mode.

Max-pooling inputs have distinct values so no window has a tie, and adaptive-pool inputs likewise.
"""

from __future__ import annotations

import numpy as np

from ..ops import conv, pooling
from . import OpInfo, Sample, distinct, leaf


def _conv2d(rng: np.random.Generator) -> list[Sample]:
    return [
        Sample("3x3 bias", (leaf(rng, 2, 2, 5, 5), leaf(rng, 3, 2, 3, 3), leaf(rng, 3))),
        Sample("stride=2 padding=1", (leaf(rng, 2, 2, 5, 5), leaf(rng, 3, 2, 3, 3)), {"stride": 2, "padding": 1}),
        Sample("padding='same' 2x3 dilation=(2,1)", (leaf(rng, 1, 2, 5, 4), leaf(rng, 2, 2, 2, 3)),
               {"padding": "same", "dilation": (2, 1)}),
        Sample("groups=2 stride=(1,2)", (leaf(rng, 2, 4, 4, 5), leaf(rng, 4, 2, 2, 2), leaf(rng, 4)),
               {"stride": (1, 2), "groups": 2}),
        Sample("depthwise padding=(1,0)", (leaf(rng, 2, 3, 4, 4), leaf(rng, 3, 1, 3, 2)),
               {"padding": (1, 0), "groups": 3}),
        Sample("unbatched", (leaf(rng, 2, 4, 4), leaf(rng, 2, 2, 3, 3)), {"padding": "valid"}),
        # The kernels' other fast paths: images side by side (fewer pixels than channels), and one product for
        # all kernel rows (fewer than 32 taps per row).
        Sample("1x1 image, 8 channels (side by side)", (leaf(rng, 2, 8, 1, 1), leaf(rng, 4, 8, 3, 3)), {"padding": 1}),
        Sample("11 channels stride=2 (taps per kernel row)", (leaf(rng, 1, 11, 3, 3), leaf(rng, 2, 11, 3, 3)),
               {"stride": 2, "padding": 1}),
    ]


def _conv1d(rng: np.random.Generator) -> list[Sample]:
    return [
        Sample("stride=2 padding=1 bias", (leaf(rng, 2, 2, 7), leaf(rng, 3, 2, 3), leaf(rng, 3)),
               {"stride": 2, "padding": 1}),
        Sample("padding='same' dilation=2 groups=2", (leaf(rng, 2, 4, 6), leaf(rng, 2, 2, 2)),
               {"padding": "same", "dilation": 2, "groups": 2}),
    ]


def _conv_transpose2d(rng: np.random.Generator) -> list[Sample]:
    return [
        Sample("stride=2 padding=1 output_padding=1 bias", (leaf(rng, 2, 2, 3, 3), leaf(rng, 2, 3, 3, 3), leaf(rng, 3)),
               {"stride": 2, "padding": 1, "output_padding": 1}),
        Sample("groups=2 dilation=(1,2)", (leaf(rng, 1, 4, 3, 2), leaf(rng, 4, 1, 2, 3)),
               {"groups": 2, "dilation": (1, 2)}),
        Sample("stride=(2,1) output_padding=(0,1) dilation=2", (leaf(rng, 2, 2, 2, 3), leaf(rng, 2, 2, 2, 2)),
               {"stride": (2, 1), "output_padding": (0, 1), "dilation": 2}),
        Sample("1x1 input, 6 channels (side by side)", (leaf(rng, 2, 6, 1, 1), leaf(rng, 6, 2, 2, 2))),
    ]


def _conv3d(rng: np.random.Generator) -> list[Sample]:
    return [
        Sample("2x2x2 bias", (leaf(rng, 1, 2, 3, 3, 3), leaf(rng, 2, 2, 2, 2, 2), leaf(rng, 2))),
        Sample("stride=(1,2,2) padding=1 dilation=(2,1,1)", (leaf(rng, 1, 1, 4, 4, 3), leaf(rng, 2, 1, 2, 2, 2)),
               {"stride": (1, 2, 2), "padding": 1, "dilation": (2, 1, 1)}),
        Sample("padding='same' groups=2", (leaf(rng, 1, 2, 3, 3, 2), leaf(rng, 2, 1, 2, 1, 2)),
               {"padding": "same", "groups": 2}),
        Sample("unbatched", (leaf(rng, 1, 3, 3, 3), leaf(rng, 1, 1, 2, 2, 2)), {"padding": "valid"}),
    ]


def _conv_transpose3d(rng: np.random.Generator) -> list[Sample]:
    return [
        Sample("stride=2 padding=(0,1,0) output_padding=(1,0,1) bias",
               (leaf(rng, 1, 2, 2, 2, 2), leaf(rng, 2, 1, 2, 3, 2), leaf(rng, 1)),
               {"stride": 2, "padding": (0, 1, 0), "output_padding": (1, 0, 1)}),
        Sample("groups=2 dilation=(1,2,1)", (leaf(rng, 1, 2, 2, 2, 2), leaf(rng, 2, 1, 2, 2, 1)),
               {"groups": 2, "dilation": (1, 2, 1)}),
    ]


def _max_pool2d(rng: np.random.Generator) -> list[Sample]:
    return [
        Sample("2x2", (distinct(rng, 2, 2, 4, 4),), {"kernel_size": 2}),
        Sample("3x3 stride=2 padding=1 (overlapping)", (distinct(rng, 2, 2, 5, 5),),
               {"kernel_size": 3, "stride": 2, "padding": 1}),
        Sample("2x3 stride=2 ceil_mode", (distinct(rng, 1, 2, 5, 6),), {"kernel_size": (2, 3), "stride": 2,
                                                                       "ceil_mode": True}),
        Sample("2x2 dilation=2 stride=1", (distinct(rng, 1, 2, 5, 5),), {"kernel_size": 2, "stride": 1,
                                                                        "dilation": 2}),
        Sample("unbatched", (distinct(rng, 2, 4, 4),), {"kernel_size": 2}),
    ]


def _avg_pool2d(rng: np.random.Generator) -> list[Sample]:
    return [
        Sample("2x2", (leaf(rng, 2, 2, 4, 4),), {"kernel_size": 2}),
        Sample("3x3 stride=2 padding=1", (leaf(rng, 2, 2, 5, 5),), {"kernel_size": 3, "stride": 2, "padding": 1}),
        Sample("ceil_mode count_include_pad=False", (leaf(rng, 1, 2, 5, 6),),
               {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True, "count_include_pad": False}),
        Sample("divisor_override=3", (leaf(rng, 1, 2, 5, 5),), {"kernel_size": 2, "stride": 1,
                                                               "divisor_override": 3}),
    ]


def _max_pool3d(rng: np.random.Generator) -> list[Sample]:
    return [
        Sample("2x2x2", (distinct(rng, 1, 2, 4, 4, 4),), {"kernel_size": 2}),
        Sample("3x3x2 stride=2 padding=1 ceil_mode (overlapping)", (distinct(rng, 1, 1, 5, 4, 5),),
               {"kernel_size": (3, 3, 2), "stride": 2, "padding": 1, "ceil_mode": True}),
        Sample("2x2x2 dilation=(1,2,1) stride=1 unbatched", (distinct(rng, 1, 3, 4, 3),),
               {"kernel_size": 2, "stride": 1, "dilation": (1, 2, 1)}),
    ]


def _avg_pool3d(rng: np.random.Generator) -> list[Sample]:
    return [
        Sample("2x2x2", (leaf(rng, 1, 2, 4, 4, 4),), {"kernel_size": 2}),
        Sample("3x3x3 stride=2 padding=1 ceil_mode count_include_pad=False", (leaf(rng, 1, 1, 5, 4, 5),),
               {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True, "count_include_pad": False}),
        Sample("divisor_override=3 unbatched", (leaf(rng, 1, 3, 3, 3),), {"kernel_size": 2, "stride": 1,
                                                                           "divisor_override": 3}),
    ]


def _adaptive(rng: np.random.Generator) -> list[Sample]:
    return [
        Sample("5x7 -> 3x2 (uneven bins)", (distinct(rng, 2, 2, 5, 7),), {"output_size": (3, 2)}),
        Sample("4x4 -> 2 (even bins)", (distinct(rng, 1, 2, 4, 4),), {"output_size": 2}),
        Sample("3x3 -> 5x1 (bins overlap)", (distinct(rng, 1, 2, 3, 3),), {"output_size": (5, 1)}),
    ]


def _max_unpool2d(rng: np.random.Generator) -> list[Sample]:
    _, indices = pooling.max_pool2d(distinct(rng, 2, 2, 5, 4), 2, return_indices=True)
    _, overlapping = pooling.max_pool2d(distinct(rng, 1, 2, 4, 4), 3, stride=1, return_indices=True)
    return [
        Sample("2x2 output_size=(5,4)", (leaf(rng, 2, 2, 2, 2),),
               {"indices": indices, "kernel_size": 2, "output_size": (5, 4)}),
        Sample("3x3 stride=1 (repeated indices add up)", (leaf(rng, 1, 2, 2, 2),),
               {"indices": overlapping, "kernel_size": 3, "stride": 1}),
    ]


OPS = [
    OpInfo("conv2d", conv.conv2d, _conv2d),
    OpInfo("conv1d", conv.conv1d, _conv1d),
    OpInfo("conv_transpose2d", conv.conv_transpose2d, _conv_transpose2d),
    OpInfo("conv3d", conv.conv3d, _conv3d),
    OpInfo("conv_transpose3d", conv.conv_transpose3d, _conv_transpose3d),
    OpInfo("max_pool2d", pooling.max_pool2d, _max_pool2d),
    OpInfo("avg_pool2d", pooling.avg_pool2d, _avg_pool2d),
    OpInfo("max_pool3d", pooling.max_pool3d, _max_pool3d),
    OpInfo("avg_pool3d", pooling.avg_pool3d, _avg_pool3d),
    OpInfo("adaptive_avg_pool2d", pooling.adaptive_avg_pool2d, _adaptive),
    OpInfo("adaptive_max_pool2d", pooling.adaptive_max_pool2d, _adaptive),
    OpInfo("max_unpool2d", pooling.max_unpool2d, _max_unpool2d),
]
