"""Modulated deformable convolution (DCNv2) kernels: a fast CPU path and a half-precision CUDA path.

torchvision's `deform_conv2d` on the CPU fills its column buffer with scalar loops and was half of
DLA-34's CPU time (issue 11). `deform_conv2d_gather` computes the same thing from library kernels:
bilinear sampling builds the sampled columns, the mask scales them, and one matrix multiply applies
the weight. On the CPU the sampling is one `embedding_bag` over a pixel-major table
(`deform_conv2d_rows`, 1.5x to 2x faster per DLA-34 layer than `grid_sample`, which reads one float per
channel plane per neighbour); elsewhere `grid_sample` (`deform_conv2d_grid`). Both give
torchvision's gradients, so training can use them too: its offset gradient is the derivative of the
bilinear weights on the floor cell, also where a sample sits exactly on an integer (as all do with
the zero offsets of a fresh DCN) or on the line -1 (zero value, gradient towards row/column 0).

Sampling rule reproduced (torchvision `ops/csrc/ops/cpu/deform_conv2d_kernel.cpp`, `bilinear_interpolate`):
a sample at (y, x) mixes its four neighbour pixels bilinearly, a neighbour outside the image counts
as zero, so a sample at y <= -1 or y >= H (same for x) is exactly zero. `grid_sample` with
`padding_mode="zeros"` follows the same rule.

On CUDA, torchvision's autocast wrapper runs the op in float32; `deform_conv2d_autocast` runs it in
the autocast dtype instead (bf16/fp16), which is what the AMP forward and backward then use.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from contextvars import ContextVar

import torch
import torch.nn.functional as F
from torchvision.ops import deform_conv2d as tv_deform_conv2d

# Set by `torchvision_kernel()`: every deformable conv then runs torchvision's op as before issue 11
_FORCE_TORCHVISION: ContextVar[bool] = ContextVar("force_torchvision_deform_conv", default=False)


@contextlib.contextmanager
def torchvision_kernel() -> Iterator[None]:
    """Run torchvision's `deform_conv2d` everywhere inside this block: the baseline the benchmark
    compares against, and the reference the tests check the fast paths with."""
    token = _FORCE_TORCHVISION.set(True)
    try:
        yield
    finally:
        _FORCE_TORCHVISION.reset(token)


@functools.lru_cache(maxsize=32)
def _base_grid(height: int, width: int, kernel: tuple[int, int], padding: tuple[int, int],
               out_size: tuple[int, int], dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """Normalised (x, y) of every undeformed sampling point, (K, Ho, Wo, 2), kernel position k-major.

    Cached per shape (a network has a handful); built outside inference mode so that a grid made
    while tracking can still be used by a later training step.
    """
    with torch.inference_mode(False):
        return _make_base_grid(height, width, kernel, padding, out_size, dtype, device)


def _make_base_grid(height: int, width: int, kernel: tuple[int, int], padding: tuple[int, int],
                    out_size: tuple[int, int], dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    kh, kw = kernel
    ho, wo = out_size
    ys = torch.arange(ho, dtype=dtype, device=device).view(1, ho, 1) - padding[0]
    xs = torch.arange(wo, dtype=dtype, device=device).view(1, 1, wo) - padding[1]
    ky, kx = torch.meshgrid(torch.arange(kh, dtype=dtype, device=device),
                            torch.arange(kw, dtype=dtype, device=device), indexing="ij")
    y = (ys + ky.reshape(-1, 1, 1)).expand(kh * kw, ho, wo)
    x = (xs + kx.reshape(-1, 1, 1)).expand(kh * kw, ho, wo)
    # align_corners=False: pixel p sits at normalised (2p + 1) / size - 1
    return torch.stack(((2 * x + 1) / width - 1, (2 * y + 1) / height - 1), dim=-1)


def _sampling_grid(offset: torch.Tensor, height: int, width: int, kernel: tuple[int, int],
                   padding: tuple[int, int], out_size: tuple[int, int]) -> torch.Tensor:
    """Normalised grid (N, K*Ho, Wo, 2) of every sampling point, kernel position k-major.

    offset is (N, 2K, Ho, Wo) with (dy, dx) pairs per kernel position (torchvision's layout).
    """
    n = offset.shape[0]
    ho, wo = out_size
    k = kernel[0] * kernel[1]
    base = _base_grid(height, width, kernel, padding, out_size, offset.dtype, offset.device)
    scale = torch.tensor([2.0 / width, 2.0 / height], dtype=offset.dtype, device=offset.device)
    # (N, K, 2, Ho, Wo) (dy, dx) -> (N, K, Ho, Wo, 2) (dx, dy), in normalised units
    shift = offset.view(n, k, 2, ho, wo).flip(2).permute(0, 1, 3, 4, 2) * scale
    return (base + shift).reshape(n, k * ho, wo, 2)


def _sampling_positions(offset: torch.Tensor, kernel: tuple[int, int], padding: tuple[int, int],
                        out_size: tuple[int, int]) -> torch.Tensor:
    """Every sampling point in input pixels, (N, K*Ho, Wo, 2) (y, x), kernel position k-major, in at
    least float32 (a bf16 position would be rounded to whole pixels past 128)."""
    n = offset.shape[0]
    ho, wo = out_size
    kh, kw = kernel
    dtype = torch.promote_types(offset.dtype, torch.float32)
    ky, kx = torch.meshgrid(torch.arange(kh, dtype=dtype, device=offset.device),
                            torch.arange(kw, dtype=dtype, device=offset.device), indexing="ij")
    y = torch.arange(ho, dtype=dtype, device=offset.device).view(1, ho, 1) - padding[0] + ky.reshape(-1, 1, 1)
    x = torch.arange(wo, dtype=dtype, device=offset.device).view(1, 1, wo) - padding[1] + kx.reshape(-1, 1, 1)
    base = torch.stack(torch.broadcast_tensors(y, x), dim=-1)  # (K, Ho, Wo, 2)
    shift = offset.view(n, kh * kw, 2, ho, wo).permute(0, 1, 3, 4, 2).to(dtype)
    return (base + shift).reshape(n, kh * kw * ho, wo, 2)


class _BilinearColumns(torch.autograd.Function):
    """`grid_sample`'s bilinear columns with torchvision's gradient for the sampling positions.

    `grid_sample` differentiates on the cell its own floor picks from the normalised coordinate,
    which rounding puts just below an integer about as often as not; torchvision differentiates on
    the floor cell of the pixel position. Within a cell d/dy does not depend on the row fraction
    and d/dx not on the column fraction, so `grid_sample`'s own position gradient taken at the
    cell's middle row (for d/dy) and middle column (for d/dx), where rounding cannot change the
    cell, is torchvision's.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, grid: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x, grid, positions)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor | None, None, torch.Tensor | None]:
        x, grid, positions = ctx.saved_tensors
        # grid_sampler_2d_backward(grad, input, grid, bilinear=0, zeros padding=0, align_corners, output_mask)
        backward = torch.ops.aten.grid_sampler_2d_backward
        grad_x = grad_positions = None
        if ctx.needs_input_grad[0]:
            grad_x = backward(grad, x, grid, 0, 0, False, [True, False])[0]
        if ctx.needs_input_grad[2]:
            height, width = x.shape[-2:]

            def position_grad(y: torch.Tensor, x_pos: torch.Tensor) -> torch.Tensor:
                points = torch.stack(((2 * x_pos + 1) / width - 1, (2 * y + 1) / height - 1), dim=-1).to(x.dtype)
                return backward(grad, x, points, 0, 0, False, [False, True])[1]

            y, x_pos = positions.unbind(-1)
            grad_y = position_grad(torch.floor(y) + 0.5, x_pos)[..., 1] * (2 / height)
            grad_x_pos = position_grad(y, torch.floor(x_pos) + 0.5)[..., 0] * (2 / width)
            grad_positions = torch.stack((grad_y, grad_x_pos), dim=-1).to(positions.dtype)
        return grad_x, None, grad_positions


def _geometry(x: torch.Tensor, offset: torch.Tensor, weight: torch.Tensor,
              padding: int | tuple[int, int]) -> tuple[tuple[int, int], int, int]:
    """(padding as a pair, output height, output width) for stride 1, dilation 1, after checking
    the channel count and the offset layout."""
    pad = (padding, padding) if isinstance(padding, int) else tuple(padding)
    n, c, height, width = x.shape
    out_c, in_c, kh, kw = weight.shape
    if in_c != c:
        raise ValueError(f"weight expects {in_c} input channels, the input has {c}")
    ho, wo = height + 2 * pad[0] - kh + 1, width + 2 * pad[1] - kw + 1
    k = kh * kw
    if offset.shape != (n, 2 * k, ho, wo):
        raise ValueError(f"offset must be {(n, 2 * k, ho, wo)} (one offset group), got {tuple(offset.shape)}")
    return pad, ho, wo


def deform_conv2d_grid(
    x: torch.Tensor,
    offset: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    padding: int | tuple[int, int] = 0,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """The gather path with `grid_sample` (any device and dtype, e.g. bf16 on CUDA); its offset
    gradient is torchvision's (`_BilinearColumns`)."""
    pad, ho, wo = _geometry(x, offset, weight, padding)
    n, c, height, width = x.shape
    out_c, _, kh, kw = weight.shape
    k = kh * kw
    grid = _sampling_grid(offset, height, width, (kh, kw), pad, (ho, wo)).to(x.dtype)
    if torch.is_grad_enabled() and (x.requires_grad or offset.requires_grad):
        positions = _sampling_positions(offset, (kh, kw), pad, (ho, wo))
        columns = _BilinearColumns.apply(x, grid.detach(), positions)
    else:
        columns = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    columns = columns.view(n, c, k, ho * wo)
    if mask is not None:
        mask = mask.reshape(n, 1, k, ho * wo)
        # In place when nothing needs gradients: saves allocating (and first-touching) a second buffer
        inplace = not (torch.is_grad_enabled() and (columns.requires_grad or mask.requires_grad))
        columns = columns.mul_(mask) if inplace else columns * mask
    out = torch.matmul(weight.reshape(out_c, c * k), columns.reshape(n, c * k, ho * wo))
    if bias is not None:
        out = out + bias.view(1, out_c, 1)
    return out.view(n, out_c, ho, wo)


def deform_conv2d_rows(
    x: torch.Tensor,
    offset: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    padding: int | tuple[int, int] = 0,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """The gather path on a pixel-major table (the CPU kernel): each sample is a bag of four rows.

    The input becomes a (pixels, channels) table with a zero border of 2 pixels, so a sample's four
    neighbours are four row indices and its bilinear weights (times the mask) four
    `per_sample_weights` of one `embedding_bag`, which reads whole channel rows instead of one float
    per channel plane as `grid_sample` does. The weights come from the floor cell of the unclamped
    position and only the cell index is clamped (to [-2, size], all-zero rows), so values and
    autograd gradients are torchvision's, at integer positions and on the lines -1 / size too. One
    matrix multiply (with the bias) applies the weight; the result is channels_last.
    """
    pad, ho, wo = _geometry(x, offset, weight, padding)
    n, c, height, width = x.shape
    out_c, _, kh, kw = weight.shape
    k = kh * kw
    dtype, device = offset.dtype, offset.device
    # Sampling positions (n, ho, wo, k), in input pixels
    shift = offset.view(n, k, 2, ho, wo).permute(0, 3, 4, 1, 2).contiguous()
    ky, kx = torch.meshgrid(torch.arange(kh, dtype=dtype, device=device),
                            torch.arange(kw, dtype=dtype, device=device), indexing="ij")
    ys = torch.arange(ho, dtype=dtype, device=device).view(ho, 1, 1) - pad[0] + ky.reshape(1, 1, k)
    xs = torch.arange(wo, dtype=dtype, device=device).view(1, wo, 1) - pad[1] + kx.reshape(1, 1, k)
    y = ys + shift[..., 0]
    x_pos = xs + shift[..., 1]
    # Bilinear weights on the floor cell, never clamped: their autograd gradient is torchvision's
    # offset gradient, also on an integer (the cell above/right) and on the line -1 (towards row 0)
    y0, x0 = torch.floor(y), torch.floor(x_pos)
    ly, lx = y - y0, x_pos - x0
    # Row of the top-left neighbour in the bordered table, then the other three; a cell from -2 or
    # from size on has only zero rows, so further out clamps to those
    stride = width + 4
    image = torch.arange(n, device=device).view(n, 1, 1, 1) * ((height + 4) * stride)
    top_left = image + (y0.clamp(-2, height).long() + 2) * stride + (x0.clamp(-2, width).long() + 2)
    corners = torch.tensor([0, 1, stride, stride + 1], device=device)
    rows = (top_left.unsqueeze(-1) + corners).reshape(-1, 4)
    wy = torch.stack((1 - ly, ly), dim=-1)
    wx = torch.stack((1 - lx, lx), dim=-1)
    if mask is not None:
        wy = wy * mask.reshape(n, k, ho, wo).permute(0, 2, 3, 1).unsqueeze(-1)
    weights = (wy.unsqueeze(-1) * wx.unsqueeze(-2)).reshape(-1, 4).to(x.dtype)
    table = F.pad(x.permute(0, 2, 3, 1), (0, 0, 2, 2, 2, 2)).reshape(-1, c)
    columns = F.embedding_bag(rows, table, mode="sum", per_sample_weights=weights)  # (n*ho*wo*k, c)
    kernel = weight.permute(0, 2, 3, 1).reshape(out_c, k * c)  # (out, kh, kw, c): the columns' order
    columns = columns.view(n * ho * wo, k * c)
    out = columns @ kernel.T if bias is None else torch.addmm(bias, columns, kernel.T)
    return out.view(n, ho, wo, out_c).permute(0, 3, 1, 2)


def deform_conv2d_gather(
    x: torch.Tensor,
    offset: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    padding: int | tuple[int, int] = 0,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Same result as `torchvision.ops.deform_conv2d(x, offset, weight, bias, padding=padding, mask=mask)`
    for stride 1, dilation 1 and one offset group (the DCNv2 configuration FairMOT uses): the row
    kernel on the CPU, the `grid_sample` kernel elsewhere."""
    kernel = deform_conv2d_rows if x.device.type == "cpu" else deform_conv2d_grid
    return kernel(x, offset, weight, bias, padding, mask)


def deform_conv2d_autocast(
    x: torch.Tensor,
    offset: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    padding: int,
    mask: torch.Tensor,
) -> torch.Tensor:
    """The deformable conv in the current CUDA autocast dtype (torchvision's own autocast wrapper
    forces float32). torchvision's CUDA kernel handles float16; bfloat16 goes through the gather
    path, whose `grid_sample` and matmul both run in bfloat16 on CUDA."""
    dtype = torch.get_autocast_dtype("cuda")
    args = [t.to(dtype) for t in (x, offset, weight, mask)]
    low_bias = None if bias is None else bias.to(dtype)
    with torch.autocast("cuda", enabled=False):
        if dtype == torch.float16:
            return tv_deform_conv2d(args[0], args[1], args[2], low_bias, padding=padding, mask=args[3])
        return deform_conv2d_gather(args[0], args[1], args[2], low_bias, padding=padding, mask=args[3])


def modulated_deform_conv(
    x: torch.Tensor,
    offset: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    padding: int,
    mask: torch.Tensor,
) -> torch.Tensor:
    """Pick the kernel for the device: the gather path on the CPU, torchvision's op in the autocast
    dtype under CUDA autocast, torchvision's op otherwise (CUDA fp32 and ONNX export, which maps it
    to DeformConv)."""
    exporting = torch.onnx.is_in_onnx_export() or torch.compiler.is_exporting()
    if _FORCE_TORCHVISION.get():
        return tv_deform_conv2d(x, offset, weight, bias, padding=padding, mask=mask)
    if x.device.type == "cpu" and not exporting:
        return deform_conv2d_gather(x, offset, weight, bias, padding=padding, mask=mask)
    if x.device.type == "cuda" and torch.is_autocast_enabled("cuda") and not exporting:
        return deform_conv2d_autocast(x, offset, weight, bias, padding, mask)
    return tv_deform_conv2d(x, offset, weight, bias, padding=padding, mask=mask)
