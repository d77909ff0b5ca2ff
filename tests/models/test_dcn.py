"""The CPU deformable convolution equals torchvision's, values and gradients; the CUDA paths run."""

from __future__ import annotations

import contextlib

import pytest
import torch
from torchvision.ops import deform_conv2d

from fairmot.models.dcn import (
    deform_conv2d_gather,
    deform_conv2d_grid,
    deform_conv2d_rows,
    modulated_deform_conv,
    torchvision_kernel,
)
from fairmot.models.dla import DCN


def _case(seed: int, n: int, c: int, o: int, h: int, w: int, spread: float, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, c, h, w, generator=g, dtype=dtype)
    # offsets up to a few pixels: many samples land between pixels, past the border or fully outside
    offset = torch.randn(n, 18, h, w, generator=g, dtype=dtype) * spread
    mask = torch.rand(n, 9, h, w, generator=g, dtype=dtype)
    weight = torch.randn(o, c, 3, 3, generator=g, dtype=dtype)
    bias = torch.randn(o, generator=g, dtype=dtype)
    return x, offset, weight, bias, mask


# Both gather kernels: the CPU one (embedding_bag rows) and the grid_sample one (CUDA bf16 autocast)
KERNELS = pytest.mark.parametrize("kernel", [deform_conv2d_rows, deform_conv2d_grid], ids=["rows", "grid"])


@pytest.mark.parametrize(("n", "c", "o", "h", "w", "spread"), [
    (2, 5, 7, 6, 9, 3.0), (1, 3, 4, 1, 1, 1.0), (1, 16, 8, 11, 4, 6.0), (3, 4, 4, 8, 8, 0.0),
])
@KERNELS
def test_gather_matches_torchvision_within_1e4(kernel, n, c, o, h, w, spread):
    x, offset, weight, bias, mask = _case(0, n, c, o, h, w, spread)
    expected = deform_conv2d(x, offset, weight, bias, padding=1, mask=mask)
    got = kernel(x, offset, weight, bias, padding=1, mask=mask)
    assert got.shape == expected.shape
    assert (got - expected).abs().max().item() < 1e-4


@KERNELS
def test_samples_on_or_past_the_border_line_are_exactly_zero(kernel):
    """torchvision zeroes a sample at y <= -1 or y >= H; the gather path must give exact zeros too."""
    h, w = 4, 5
    x = torch.ones(1, 2, h, w)
    weight = torch.ones(1, 2, 3, 3)
    mask = torch.ones(1, 9, h, w)
    # undeformed sampling row of kernel position k at output row i: i - 1 + k // 3
    base_y = (torch.arange(h).view(1, h, 1) - 1 + (torch.arange(9) // 3).view(9, 1, 1)).float()
    for target_y in (-1.0, -7.5, float(h), h + 3.25):
        offset = torch.zeros(1, 9, 2, h, w)
        offset[0, :, 0] = (target_y - base_y).expand(9, h, w)
        offset = offset.view(1, 18, h, w)
        assert deform_conv2d(x, offset, weight, None, padding=1, mask=mask).abs().max().item() == 0.0
        assert kernel(x, offset, weight, None, padding=1, mask=mask).abs().max().item() == 0.0
    # just inside the line the sample is not zero (the guard above is not vacuous)
    offset = torch.zeros(1, 9, 2, h, w)
    offset[0, :, 0] = (-0.75 - base_y).expand(9, h, w)
    got = kernel(x, offset.view(1, 18, h, w), weight, None, padding=1, mask=mask)
    assert got.min().item() > 0.0


@KERNELS
def test_zero_offsets_and_unit_mask_equal_a_plain_convolution(kernel):
    x, _, weight, bias, _ = _case(1, 2, 6, 5, 7, 9, 0.0)
    offset, mask = torch.zeros(2, 18, 7, 9), torch.ones(2, 9, 7, 9)
    got = kernel(x, offset, weight, bias, padding=1, mask=mask)
    expected = torch.nn.functional.conv2d(x, weight, bias, padding=1)
    assert (got - expected).abs().max().item() < 1e-5


@KERNELS
def test_gradients_match_torchvision_in_double(kernel):
    # Offsets kept off integer positions, where bilinear interpolation has no derivative
    x, offset, weight, bias, mask = _case(2, 1, 3, 2, 5, 4, 2.0, torch.float64)
    offset = offset.floor() + 0.3 + 0.4 * torch.rand_like(offset)
    grads = []
    for fn in (deform_conv2d, deform_conv2d_gather):
        leaves = [t.clone().requires_grad_(True) for t in (x, offset, weight, bias, mask)]
        out = fn(leaves[0], leaves[1], leaves[2], leaves[3], padding=1, mask=leaves[4])
        (out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)).sum().backward()
        grads.append([leaf.grad for leaf in leaves])
    for name, tv_grad, our_grad in zip(("input", "offset", "weight", "bias", "mask"), *grads):
        assert (tv_grad - our_grad).abs().max().item() < 1e-8, name


@KERNELS
def test_gather_passes_gradcheck(kernel):
    x, offset, weight, bias, mask = _case(3, 1, 2, 2, 3, 3, 1.5, torch.float64)
    offset = offset.floor() + 0.25 + 0.5 * torch.rand_like(offset)
    inputs = [t.requires_grad_(True) for t in (x, offset, weight, bias, mask)]
    assert torch.autograd.gradcheck(
        lambda a, b, c, d, e: kernel(a, b, c, d, padding=1, mask=e), inputs, eps=1e-6, atol=1e-5
    )


def test_dcn_module_keeps_its_parameter_names_and_uses_the_gather_path_on_cpu():
    torch.manual_seed(0)
    layer = DCN(4, 6)
    assert sorted(name for name, _ in layer.named_parameters()) == [
        "bias", "conv_offset_mask.bias", "conv_offset_mask.weight", "weight"]
    torch.nn.init.normal_(layer.conv_offset_mask.weight, std=0.3)
    x = torch.randn(2, 4, 9, 7)
    om = layer.conv_offset_mask(x)
    expected = deform_conv2d(x, om[:, :18], layer.weight, layer.bias, padding=1, mask=torch.sigmoid(om[:, 18:]))
    assert (layer(x) - expected).abs().max().item() < 1e-4


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_cuda_autocast_runs_the_deformable_conv_in_the_autocast_dtype(dtype):
    x, offset, weight, bias, mask = (t.cuda() for t in _case(4, 1, 8, 8, 16, 16, 2.0))
    expected = deform_conv2d(x, offset, weight, bias, padding=1, mask=mask)
    with torch.autocast("cuda", dtype=dtype):
        got = modulated_deform_conv(x, offset, weight, bias, 1, mask)
    assert got.dtype == dtype
    assert ((got.float() - expected).abs().max() / expected.abs().max()).item() < 2e-2


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_cuda_autocast_training_step_gives_gradients_close_to_float32(dtype):
    torch.manual_seed(0)
    layer = DCN(8, 8).cuda()
    torch.nn.init.normal_(layer.conv_offset_mask.weight, std=0.1)
    x = torch.randn(2, 8, 16, 16, device="cuda")
    grads = []
    for autocast in (False, True):
        layer.zero_grad()
        with torch.autocast("cuda", dtype=dtype, enabled=autocast):
            out = layer(x)
        out.float().square().mean().backward()
        grads.append(layer.weight.grad.clone())
    assert torch.isfinite(grads[1]).all()
    assert ((grads[1] - grads[0]).abs().max() / grads[0].abs().max()).item() < 5e-2


def test_row_kernel_reads_channels_last_input_and_is_the_cpu_gather_path():
    x, offset, weight, bias, mask = _case(5, 2, 8, 6, 7, 10, 2.5)
    expected = deform_conv2d(x, offset, weight, bias, padding=1, mask=mask)
    got = deform_conv2d_rows(x.contiguous(memory_format=torch.channels_last), offset, weight, bias, 1, mask)
    assert (got - expected).abs().max().item() < 1e-4
    assert torch.equal(deform_conv2d_gather(x, offset, weight, bias, padding=1, mask=mask),
                       deform_conv2d_rows(x, offset, weight, bias, 1, mask))


def _boundary_offsets(n: int, h: int, w: int, dtype) -> torch.Tensor:
    """Offsets that put every sample on an integer: a mix of -3..3 steps and points exactly on the
    lines -1, H (rows) and -1, W (columns), where torchvision's value is zero but its offset
    gradient (taken on the floor cell) is not always."""
    g = torch.Generator().manual_seed(7)
    # undeformed position of kernel position k at output (i, j) with padding 1: (i - 1 + k // 3, j - 1 + k % 3)
    k = torch.arange(9).view(1, 9, 1, 1)
    base_y = (torch.arange(h).view(1, 1, h, 1) - 1 + k // 3).expand(n, 9, h, w)
    base_x = (torch.arange(w).view(1, 1, 1, w) - 1 + k % 3).expand(n, 9, h, w)
    choice = torch.randint(0, 3, (2, n, 9, h, w), generator=g)
    steps = torch.randint(-3, 4, (2, n, 9, h, w), generator=g)
    dy = torch.where(choice[0] == 0, -1 - base_y, torch.where(choice[0] == 1, h - base_y, steps[0]))
    dx = torch.where(choice[1] == 0, -1 - base_x, torch.where(choice[1] == 1, w - base_x, steps[1]))
    return torch.stack((dy, dx), dim=2).reshape(n, 18, h, w).to(dtype)


def _mismatches(kernel, x, offset, weight, bias, mask, rtol: float) -> dict[str, int]:
    """Entries of the output and of each gradient that differ from torchvision's by more than rtol
    times that tensor's largest magnitude."""
    results = []
    for fn in (deform_conv2d, kernel):
        leaves = [t.clone().requires_grad_(True) for t in (x, offset, weight, bias, mask)]
        out = fn(leaves[0], leaves[1], leaves[2], leaves[3], padding=1, mask=leaves[4])
        seed = torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view(out.shape)
        results.append([out.detach(), *torch.autograd.grad(out, leaves, seed)])
    names = ("output", "input", "offset", "weight", "bias", "mask")
    return {name: int(((ours - ref).abs() > rtol * ref.abs().max().clamp(min=1)).sum())
            for name, ref, ours in zip(names, *results)}


@pytest.mark.parametrize("offsets", ["zero", "integer_and_border", "fractional", "mixed"])
@pytest.mark.parametrize(("dtype", "rtol"), [(torch.float64, 1e-10), (torch.float32, 1e-5)], ids=["f64", "f32"])
@KERNELS
def test_values_and_all_gradients_equal_torchvision_at_integer_and_border_points(kernel, dtype, rtol, offsets):
    """torchvision takes the offset gradient on the floor cell, also at a point exactly on an integer
    (a fresh DCN's zero offsets put every sample there) and on the line -1 (zero value, non-zero
    gradient towards row/column 0). The kernels used to give 0 there (rows: 35 of 756 offset
    gradient entries at zero offsets; grid: 89, grid_sample's normalised coordinates falling into the
    cell below)."""
    n, h, w = 2, 5, 6
    x, _, weight, bias, mask = _case(8, n, 3, 4, h, w, 0.0, dtype)
    fractional = torch.randn(n, 18, h, w, generator=torch.Generator().manual_seed(9), dtype=dtype) * 2.5
    offset = {
        "zero": torch.zeros(n, 18, h, w, dtype=dtype),
        "integer_and_border": _boundary_offsets(n, h, w, dtype),
        "fractional": fractional,
        # y on integers and border lines, x fractional (and the other way round in the second image)
        "mixed": torch.where(torch.arange(18).view(1, 18, 1, 1) % 2 == torch.arange(n).view(n, 1, 1, 1),
                             _boundary_offsets(n, h, w, dtype), fractional),
    }[offsets]
    assert _mismatches(kernel, x, offset, weight, bias, mask, rtol) == dict.fromkeys(
        ("output", "input", "offset", "weight", "bias", "mask"), 0)


def test_a_fresh_dcn_layer_trains_its_offset_conv_as_with_torchvision():
    """A fresh DCN predicts zero offsets, so every sample sits on an integer and the first row and
    column of samples on the line -1: conv_offset_mask's gradient used to differ from torchvision's
    by up to 37% there."""
    torch.manual_seed(0)
    layer = DCN(4, 6).double()
    x = torch.randn(2, 4, 7, 9, dtype=torch.float64)
    grads = []
    for use_torchvision in (False, True):
        layer.zero_grad()
        with torchvision_kernel() if use_torchvision else contextlib.nullcontext():
            out = layer(x)
        (out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view(out.shape)).sum().backward()
        grads.append({name: p.grad.clone() for name, p in layer.named_parameters()})
    for name, ours in grads[0].items():
        assert (ours - grads[1][name]).abs().max().item() <= 1e-10 * grads[1][name].abs().max().item(), name
