"""The oneDNN graph: the same feature map and heatmap as the folded eager network, every plain
convolution rewritten, fusions only where they keep the arithmetic."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from fairmot.inference.engines.torch_engine import DenseOutputs, TorchEngine
from fairmot.models.fusion import fold_batchnorm
from fairmot.models.onednn import onednn_available, onednn_graph
from tests.models.standins import trained_looking

pytestmark = pytest.mark.skipif(not onednn_available(), reason="this PyTorch build has no oneDNN")

MKLDNN = "mkldnn."


def _channels_last(*shape: int) -> torch.Tensor:
    return torch.rand(*shape).contiguous(memory_format=torch.channels_last)


def _calls(graph_module: torch.fx.GraphModule) -> list[str]:
    """What each node of the graph calls: a module's class name, else the function's name."""
    modules = dict(graph_module.named_modules())
    return [type(modules[node.target]).__name__ if node.op == "call_module" else str(node.target)
            for node in graph_module.graph.nodes if node.op in ("call_module", "call_function")]


def _convolutions_run(module: nn.Module, x: torch.Tensor) -> int:
    calls = []
    hooks = [m.register_forward_hook(lambda *_: calls.append(1)) for m in module.modules()
             if type(m) in (nn.Conv2d, nn.ConvTranspose2d)]
    with torch.inference_mode():
        module(x)
    for hook in hooks:
        hook.remove()
    return len(calls)


@pytest.mark.parametrize(("arch", "height", "width"), [
    ("dla_tiny", 96, 128), ("dlaconv", 64, 96), ("dla34", 64, 64), ("hrnet18", 64, 64),
])
def test_graph_gives_the_folded_networks_feature_map_and_heatmap_within_1e5(arch, height, width):
    folded = fold_batchnorm(trained_looking(arch)).to(memory_format=torch.channels_last)
    dense = DenseOutputs(folded)
    x = _channels_last(2, 3, height, width)
    graph = onednn_graph(dense, x)
    # Every convolution the dense path runs is rewritten, except the offset convs inside the DCNs
    assert graph.packed == _convolutions_run(dense, x) - sum(hasattr(m, "conv_offset_mask") for m in dense.modules())
    assert "Conv2d" not in _calls(graph) and "ConvTranspose2d" not in _calls(graph)
    with torch.inference_mode():
        expected = dense(x)
        for got in (graph(x), graph(x[:1])):  # the packed size, and a shorter batch
            for e, g in zip(expected, got):
                assert g.shape == e[: len(g)].shape
                assert (e[: len(g)] - g).abs().max().item() < 1e-5


def test_relus_and_residual_adds_of_dla_are_fused_into_the_convolutions():
    folded = fold_batchnorm(trained_looking("dla_tiny")).to(memory_format=torch.channels_last)
    calls = _calls(onednn_graph(DenseOutputs(folded), _channels_last(1, 3, 64, 96)))
    assert "ReLU" not in calls and "Identity" not in calls
    # the 12 basic blocks' `conv2 + residual -> ReLU`
    assert calls.count(f"{MKLDNN}_convolution_pointwise.binary") == 12
    # the neck's `up + merged` feeds a convolution instead of following one: it stays an add
    assert calls.count("<built-in function add>") == 8


class _Toy(nn.Module):
    """Patterns the rewrite must leave partly alone."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(4, 4, 3, padding=1)
        self.b = nn.Conv2d(4, 4, 3, padding=1)
        self.c = nn.Conv2d(4, 4, 1)
        self.d = nn.Conv2d(4, 4, 3, padding=1)
        self.e = nn.Conv2d(4, 4, 3, padding=1)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        a = self.a(x)
        kept = self.relu(a.clone()) + a  # a has two consumers: its ReLU cannot be fused
        late = self.c(x)  # the add's other operand is computed after conv b
        fused = torch.relu(self.b(x) + late)
        broadcast = torch.relu(self.d(x) + x[:, :1])  # a broadcast add is not a residual add
        y = x - 0.5  # negative values, which relu_ changes
        e = self.e(y)
        y.relu_()  # in place between the conv and its add: a conv run at the add would read another y
        mutated = torch.relu(e + x)
        return kept, fused, broadcast, mutated


def test_toy_patterns_keep_their_values_and_only_safe_fusions_happen():
    torch.manual_seed(0)
    toy = _Toy().eval()
    x = _channels_last(2, 4, 10, 12)
    graph = onednn_graph(toy, x)
    calls = _calls(graph)
    assert graph.packed == 5
    assert calls.count(f"{MKLDNN}_convolution_pointwise.binary") == 1  # b + late -> ReLU only
    assert "ReLU" in calls  # a's
    with torch.inference_mode():
        for e, g in zip(toy(x), graph(x)):
            assert (e - g).abs().max().item() < 1e-5


def test_the_traced_module_and_its_weights_are_left_alone():
    folded = fold_batchnorm(trained_looking("dla_tiny"))
    state = {k: v.clone() for k, v in folded.state_dict().items()}
    onednn_graph(DenseOutputs(folded), _channels_last(1, 3, 64, 96))
    assert all(torch.equal(state[k], v) for k, v in folded.state_dict().items())
    assert isinstance(folded.base.base_layer[0], nn.Conv2d)


def test_lean_engine_runs_the_graph_on_the_cpu_and_matches_its_eager_twin():
    model = trained_looking("dla_tiny")
    lean = TorchEngine(model, input_w=128, input_h=96)
    eager = TorchEngine(model, input_w=128, input_h=96, onednn=False)
    assert isinstance(lean.dense, torch.fx.GraphModule) and isinstance(eager.dense, DenseOutputs)
    blob = torch.rand(3, 96, 128).numpy()
    got, expected = lean(blob), eager(blob)
    for name in ("hm", "wh", "reg", "id"):
        assert (got[name] - expected[name]).abs().max().item() < 1e-5, name


@pytest.mark.filterwarnings("ignore:TF32 acceleration on top of oneDNN")  # torch's flags() itself warns
def test_with_onednn_switched_off_the_engine_stays_eager():
    # torch.backends.mkldnn.flags(enabled=False) is how a user turns oneDNN off; the graph follows
    with torch.backends.mkldnn.flags(enabled=False):
        assert not onednn_available()
        engine = TorchEngine(trained_looking("dla_tiny"), input_w=64, input_h=64)
    assert isinstance(engine.dense, DenseOutputs)
