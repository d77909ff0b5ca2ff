"""The lean CPU graph: a network traced once and its convolutions rewritten onto oneDNN's fused ops.

After batch norm is folded, eager PyTorch still spends about a fifth of a small network's CPU time
around its convolutions rather than in them:
- every call reorders the weight into oneDNN's blocked layout;
- ReLU, and the residual add before it, are separate passes over the feature map;
- PyTorch sends batch-1 convolutions on small maps to its slower im2col path;
- every layer is a Python module call.

`onednn_graph` traces the module with `torch.fx` and replaces each `Conv2d` (together with the ReLU,
or add-then-ReLU, that follows it) by one `mkldnn::_convolution_pointwise` call, and each
`ConvTranspose2d` by `mkldnn::_convolution_transpose_pointwise`, on weights prepacked once for the
input size. These are the operators PyTorch's compiler emits for frozen CPU graphs, here called
eagerly: no C++ compiler and no compile time. The arithmetic is oneDNN's, as in eager mode.

Deformable convolutions stay modules (their kernel, `fairmot.models.dcn`, branches on shapes), as
does anything else the rewrite does not know.
"""

from __future__ import annotations

import operator
from collections.abc import Callable

import torch
from torch import fx, nn
from torch.fx.passes.shape_prop import ShapeProp, TensorMetadata

from fairmot.models.dla import DCN

RELUS: tuple[Callable, ...] = (torch.relu, torch.relu_, nn.functional.relu)
ADDS: tuple[Callable, ...] = (operator.add, torch.add)
IN_PLACE_OPERATORS: tuple[Callable, ...] = (operator.iadd, operator.isub, operator.imul, operator.itruediv)


def onednn_available() -> bool:
    """Whether this PyTorch build has oneDNN with its fused convolution operators, and oneDNN is on.

    The same conditions as PyTorch's compiler for these fusions: not with `torch.backends.mkldnn`
    disabled, and not where oneDNN runs through Arm's Compute Library (AArch64), which lacks them.
    """
    mkldnn = torch.backends.mkldnn
    return (mkldnn.enabled and mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_convolution_pointwise")
            and not torch.ops.mkldnn._is_mkldnn_acl_supported())


class _Tracer(fx.Tracer):
    def is_leaf_module(self, module: nn.Module, qualified_name: str) -> bool:
        return isinstance(module, DCN) or super().is_leaf_module(module, qualified_name)


class _Rewriter:
    """One pass over a traced graph with shapes propagated; a replacement node takes over the shape
    of the node whose value it computes."""

    def __init__(self, graph_module: fx.GraphModule) -> None:
        self.root = graph_module
        self.graph = graph_module.graph
        self.modules = dict(graph_module.named_modules())
        self.packed = 0

    @staticmethod
    def shape(node: object) -> torch.Size | None:
        meta = node.meta.get("tensor_meta") if isinstance(node, fx.Node) else None
        return meta.shape if isinstance(meta, TensorMetadata) else None

    def module(self, node: fx.Node) -> nn.Module | None:
        return self.modules.get(node.target) if node.op == "call_module" else None

    def is_relu(self, node: fx.Node) -> bool:
        return isinstance(self.module(node), nn.ReLU) or (node.op == "call_function" and node.target in RELUS) or (
            node.op == "call_method" and node.target in ("relu", "relu_"))

    def constant(self, name: str, tensor: torch.Tensor, layer: fx.Node) -> fx.Node:
        """`tensor` as a non-persistent buffer of the graph module, read just before `layer`."""
        name = f"_onednn_{self.packed}_{name}"
        self.root.register_buffer(name, tensor, persistent=False)
        with self.graph.inserting_before(layer):
            return self.graph.get_attr(name)

    def weights(self, layer: fx.Node, packed: torch.Tensor, bias: torch.Tensor | None) -> tuple[fx.Node, fx.Node | None]:
        weight = self.constant("weight", packed, layer)
        return weight, None if bias is None else self.constant("bias", bias.detach(), layer)

    def mutates(self, node: fx.Node) -> bool:
        """An in-place op (a module with `inplace=True`, `relu_`, `+=`): what it writes changes value."""
        module = self.module(node)
        if module is not None:
            return bool(getattr(module, "inplace", False))
        name = node.target if isinstance(node.target, str) else getattr(node.target, "__name__", "")
        return node.op in ("call_function", "call_method") and (
            (name.endswith("_") and not name.endswith("__")) or node.target in IN_PLACE_OPERATORS)

    def single_user(self, node: fx.Node) -> fx.Node | None:
        users = list(node.users)
        return users[0] if len(users) == 1 else None

    def residual_relu(self, conv: fx.Node) -> tuple[fx.Node, fx.Node, fx.Node] | None:
        """(add, other operand, relu) when conv's only consumer is `conv + other` of the same shape,
        that sum's only consumer is a ReLU, and nothing in between works in place (the fused op runs
        at the add, so it must read there what the conv read at the conv)."""
        add = self.single_user(conv)
        if add is None or add.op != "call_function" or add.target not in ADDS or len(add.args) != 2 or add.kwargs:
            return None
        other = add.args[1] if add.args[0] is conv else add.args[0]
        relu = self.single_user(add)
        if (not isinstance(other, fx.Node) or other is conv or relu is None or not self.is_relu(relu)
                or self.shape(other) != self.shape(conv)):
            return None
        node = conv.next
        while node is not add:
            if self.mutates(node):
                return None
            node = node.next
        return add, other, relu

    def conv(self, node: fx.Node, conv: nn.Conv2d) -> None:
        geometry = [list(conv.padding), list(conv.stride), list(conv.dilation), conv.groups]
        packed = torch.ops.mkldnn._reorder_convolution_weight(
            conv.weight.detach(), *geometry, list(self.shape(node.args[0])))
        w, b = self.weights(node, packed, conv.bias)
        follower, fused = self.single_user(node), self.residual_relu(node)
        if fused is not None:  # placed at the add: the other operand may be computed after the conv
            add, other, relu = fused
            with self.graph.inserting_before(add):
                new = self.graph.call_function(torch.ops.mkldnn._convolution_pointwise.binary, (
                    node.args[0], other, w, b, *geometry, "add", None, "relu", [], ""))
            last, dropped = relu, [relu, add]
        else:  # placed at the conv: its ReLU is the only reader of its output
            relu = follower is not None and self.is_relu(follower)
            with self.graph.inserting_before(node):
                new = self.graph.call_function(torch.ops.mkldnn._convolution_pointwise.default, (
                    node.args[0], w, b, *geometry, "relu" if relu else "none", [], ""))
            last, dropped = (follower, [follower]) if relu else (node, [])
        new.meta = dict(last.meta)
        last.replace_all_uses_with(new)
        for gone in [*dropped, node]:
            self.graph.erase_node(gone)
        self.packed += 1

    def transposed(self, node: fx.Node, up: nn.ConvTranspose2d) -> None:
        geometry = [list(up.padding), list(up.output_padding), list(up.stride), list(up.dilation), up.groups]
        packed = torch.ops.mkldnn._reorder_convolution_transpose_weight(
            up.weight.detach(), *geometry, list(self.shape(node.args[0])))
        w, b = self.weights(node, packed, up.bias)
        with self.graph.inserting_before(node):
            new = self.graph.call_function(torch.ops.mkldnn._convolution_transpose_pointwise.default, (
                node.args[0], w, b, *geometry, "none", [], ""))
        new.meta = dict(node.meta)
        node.replace_all_uses_with(new)
        self.graph.erase_node(node)
        self.packed += 1

    def run(self) -> int:
        for node in list(self.graph.nodes):  # folded batch norms are Identity modules: skip them
            if isinstance(self.module(node), nn.Identity) and len(node.args) == 1 and not node.kwargs:
                node.replace_all_uses_with(node.args[0])
                self.graph.erase_node(node)
        for node in list(self.graph.nodes):
            layer = self.module(node)
            plain = len(node.args) == 1 and not node.kwargs and self.shape(node.args[0]) is not None
            if type(layer) is nn.Conv2d and plain and layer.padding_mode == "zeros" and not isinstance(
                    layer.padding, str):
                self.conv(node, layer)
            elif type(layer) is nn.ConvTranspose2d and plain and layer.padding_mode == "zeros":
                self.transposed(node, layer)
        return self.packed


def onednn_graph(module: nn.Module, example: torch.Tensor) -> fx.GraphModule:
    """`module` (CPU, float32, eval, batch norm already folded) as a traced graph on oneDNN's fused
    convolutions, weights prepacked for inputs shaped like `example`. Other shapes still run (oneDNN
    reorders as needed), just without the prepacking's benefit. `packed` counts the rewritten layers."""
    graph_module = fx.GraphModule(module, _Tracer().trace(module))
    with torch.inference_mode():
        ShapeProp(graph_module).propagate(example)
        packed = _Rewriter(graph_module).run()
    graph_module.graph.lint()
    graph_module.recompile()
    graph_module.delete_all_unused_submodules()
    graph_module.packed = packed
    return graph_module
