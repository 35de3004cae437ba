"""Custom Functions shared by tests: y = x**2 with a correct and with a deliberately wrong backward."""

from autograd import Function


class Square(Function):
    """y = x**2, correct: dx = 2 x grad."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.data ** 2

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x * 2


class BrokenSquare(Square):
    """y = x**2 with a planted bug: backward returns 2.2 x grad instead of 2 x grad."""

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x * 2.2
