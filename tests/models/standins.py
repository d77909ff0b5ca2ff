"""Networks for the inference tests that behave like trained ones."""

import torch

from fairmot.models import create_model


def trained_looking(arch: str, *, affine: bool = True) -> torch.nn.Module:
    """A network whose batch norms hold non-trivial statistics (fresh ones are identities)."""
    torch.manual_seed(0)
    model = create_model(arch)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
            if affine:  # also the learnt scale and shift (the export tests keep them at 1 and 0)
                module.weight.data.uniform_(0.5, 1.5)
                module.bias.data.uniform_(-0.2, 0.2)
        if hasattr(module, "conv_offset_mask"):  # make the deformable convs actually deform
            module.conv_offset_mask.weight.data.normal_(0, 0.05)
    return model.eval()
