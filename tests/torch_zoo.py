"""Small plain-PyTorch networks that no search space produces (no torchvision), for the
importer tests. Each factory returns ``(module, input_shape)``; sizes are tiny so that
tracing, the forward pass and ONNX export take milliseconds."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


# ------------------------------------------------------------------ ResNet
class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, c_in: int, width: int, stride: int = 1) -> None:
        super().__init__()
        c_out = width * self.expansion
        self.conv1 = nn.Conv2d(c_in, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, c_out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or c_in != c_out:
            self.downsample = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False),
                                            nn.BatchNorm2d(c_out))

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


class ResNet(nn.Module):
    """Stem + two stages of two bottlenecks each (downsample shortcut on the first)."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = nn.Sequential(Bottleneck(16, 8), Bottleneck(32, 8))
        self.layer2 = nn.Sequential(Bottleneck(32, 16, 2), Bottleneck(64, 16))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer2(self.layer1(x))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x)


def resnet():
    return ResNet(), (1, 3, 32, 32)


# -------------------------------------------------------------- MobileNetV2
class ConvBNReLU6(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, k: int = 3, stride: int = 1, groups: int = 1) -> None:
        super().__init__(nn.Conv2d(c_in, c_out, k, stride, (k - 1) // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(c_out), nn.ReLU6(inplace=True))


class InvertedResidual(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = c_in * expand
        self.use_res = stride == 1 and c_in == c_out
        layers: list[nn.Module] = []
        if expand != 1:
            layers.append(ConvBNReLU6(c_in, hidden, 1))
        layers += [ConvBNReLU6(hidden, hidden, 3, stride, groups=hidden),
                   nn.Conv2d(hidden, c_out, 1, bias=False), nn.BatchNorm2d(c_out)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        if self.use_res:
            return x + self.conv(x)
        return self.conv(x)


class MobileNetV2(nn.Module):
    # (expansion t, channels c, repeats n, stride s) as in the paper, scaled down
    SETTING = [(1, 8, 1, 1), (6, 12, 2, 2), (6, 16, 2, 2)]

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        c = 16
        layers: list[nn.Module] = [ConvBNReLU6(3, c, 3, 2)]
        for t, c_out, n, s in self.SETTING:
            for i in range(n):
                layers.append(InvertedResidual(c, c_out, s if i == 0 else 1, t))
                c = c_out
        layers.append(ConvBNReLU6(c, 64, 1))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(64, num_classes))

    def forward(self, x):
        x = self.features(x)
        x = F.adaptive_avg_pool2d(x, (1, 1))
        x = torch.flatten(x, 1)
        return self.classifier(x)


def mobilenet_v2():
    return MobileNetV2(), (1, 3, 32, 32)


# ----------------------------------------------------------------- DenseNet
class DenseLayer(nn.Module):
    def __init__(self, c_in: int, growth: int, bn_size: int = 4) -> None:
        super().__init__()
        self.norm1 = nn.BatchNorm2d(c_in)
        self.conv1 = nn.Conv2d(c_in, bn_size * growth, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * growth)
        self.conv2 = nn.Conv2d(bn_size * growth, growth, 3, padding=1, bias=False)

    def forward(self, features: list):
        x = torch.cat(features, 1)
        x = self.conv1(F.relu(self.norm1(x)))
        return self.conv2(F.relu(self.norm2(x)))


class DenseBlock(nn.ModuleDict):
    def __init__(self, layers: int, c_in: int, growth: int) -> None:
        super().__init__()
        for i in range(layers):
            self.add_module(f"layer{i}", DenseLayer(c_in + i * growth, growth))

    def forward(self, x):
        features = [x]
        for layer in self.values():
            features.append(layer(features))
        return torch.cat(features, 1)


class Transition(nn.Sequential):
    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__(nn.BatchNorm2d(c_in), nn.ReLU(inplace=True),
                         nn.Conv2d(c_in, c_out, 1, bias=False), nn.AvgPool2d(2, 2))


class DenseNet(nn.Module):
    def __init__(self, growth: int = 8, num_classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1, bias=False)
        self.block1 = DenseBlock(3, 16, growth)
        self.trans1 = Transition(16 + 3 * growth, 20)
        self.block2 = DenseBlock(3, 20, growth)
        self.norm = nn.BatchNorm2d(20 + 3 * growth)
        self.fc = nn.Linear(20 + 3 * growth, num_classes)

    def forward(self, x):
        x = self.block2(self.trans1(self.block1(self.stem(x))))
        x = F.relu(self.norm(x))
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.fc(x)


def densenet():
    return DenseNet(), (1, 3, 16, 16)


# ---------------------------------------------------------------- Inception
class BasicConv2d(nn.Module):
    def __init__(self, c_in: int, c_out: int, **kwargs) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(c_out, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)), inplace=True)


class InceptionBlock(nn.Module):
    def __init__(self, c_in: int, c1: int, c3: int, c5: int, cp: int) -> None:
        super().__init__()
        self.branch1 = BasicConv2d(c_in, c1, kernel_size=1)
        self.branch3 = nn.Sequential(BasicConv2d(c_in, c3 // 2, kernel_size=1),
                                     BasicConv2d(c3 // 2, c3, kernel_size=3, padding=1))
        self.branch5 = nn.Sequential(BasicConv2d(c_in, c5 // 2, kernel_size=1),
                                     BasicConv2d(c5 // 2, c5, kernel_size=5, padding=2))
        self.pool_proj = BasicConv2d(c_in, cp, kernel_size=1)

    def forward(self, x):
        pooled = F.max_pool2d(x, kernel_size=3, stride=1, padding=1)
        return torch.cat([self.branch1(x), self.branch3(x), self.branch5(x),
                          self.pool_proj(pooled)], 1)


class Inception(nn.Module):
    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.stem = BasicConv2d(3, 16, kernel_size=3, stride=2, padding=1)
        self.block1 = InceptionBlock(16, 8, 16, 8, 8)    # -> 40 channels
        self.block2 = InceptionBlock(40, 16, 16, 8, 8)   # -> 48 channels
        self.fc = nn.Linear(48, num_classes)

    def forward(self, x):
        x = self.block2(self.block1(self.stem(x)))
        return self.fc(x.mean((2, 3)))


def inception():
    return Inception(), (1, 3, 32, 32)


# --------------------------------------------------------- squeeze-excitation
class SEConv(nn.Module):
    """SE with modules: AdaptiveAvgPool2d(1), 1x1 convs with bias, Sigmoid, mul."""

    def __init__(self, c: int, r: int = 4) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.reduce = nn.Conv2d(c, c // r, 1)
        self.act = nn.ReLU()
        self.expand = nn.Conv2d(c // r, c, 1)
        self.gate = nn.Sigmoid()

    def forward(self, x):
        return x * self.gate(self.expand(self.act(self.reduce(self.pool(x)))))


class SELinear(nn.Module):
    """SE with Linear layers and views (the original SENet code)."""

    def __init__(self, c: int, r: int = 4) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Sequential(nn.Linear(c, c // r, bias=False), nn.ReLU(inplace=True),
                                nn.Linear(c // r, c, bias=False), nn.Sigmoid())

    def forward(self, x):
        b, c, _, _ = x.size()
        y = self.pool(x).view(b, c)
        y = self.fc(y).view(b, c, 1, 1)
        return x * y


class SEMean(nn.Module):
    """SE with ``x.mean((2, 3))``, Hardsigmoid gate and unsqueezes (MobileNetV3 style)."""

    def __init__(self, c: int, r: int = 4) -> None:
        super().__init__()
        self.fc1 = nn.Linear(c, c // r)
        self.fc2 = nn.Linear(c // r, c)

    def forward(self, x):
        s = x.mean((2, 3))
        s = F.hardsigmoid(self.fc2(F.relu(self.fc1(s))))
        return x * s[:, :, None, None]


class SENet(nn.Module):
    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16),
                                  nn.Hardswish())
        self.se1 = SEConv(16)
        self.conv = nn.Sequential(nn.Conv2d(16, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32), nn.SiLU())
        self.se2 = SELinear(32)
        self.se3 = SEMean(32)
        self.head = nn.Linear(32, num_classes)

    def forward(self, x):
        x = self.se1(self.stem(x))
        x = self.se3(self.se2(self.conv(x)))
        return self.head(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def senet():
    return SENet(), (1, 3, 16, 16)


# -------------------------------------------------------------- transformer
class EncoderBlock(nn.Module):
    """Pre-norm transformer encoder block, multi-head attention written out."""

    def __init__(self, dim: int = 32, heads: int = 4, mlp_ratio: int = 4) -> None:
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim)
        self.q = nn.Linear(dim, dim)
        self.k = nn.Linear(dim, dim)
        self.v = nn.Linear(dim, dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, mlp_ratio * dim)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(mlp_ratio * dim, dim)
        self.drop = nn.Dropout(0.1)

    def attention(self, x):
        B, L, D = x.shape
        h, d = self.heads, D // self.heads
        q = self.q(x).view(B, L, h, d).transpose(1, 2)
        k = self.k(x).view(B, L, h, d).transpose(1, 2)
        v = self.v(x).view(B, L, h, d).transpose(1, 2)
        attn = q @ k.transpose(-2, -1) / math.sqrt(d)
        attn = attn.softmax(dim=-1)
        out = (attn @ v).transpose(1, 2).reshape(B, L, D)
        return self.drop(self.proj(out))

    def forward(self, x):
        x = x + self.attention(self.norm1(x))
        return x + self.drop(self.fc2(self.act(self.fc1(self.norm2(x)))))


def transformer():
    return EncoderBlock(), (1, 16, 32)


# ----------------------------------------------------------------- ConvNeXt
def stochastic_depth(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Drops whole samples of a residual branch while training, as torchvision's does."""
    if not training or p == 0.0:
        return x
    keep = torch.empty(x.shape[0], 1, 1, 1).bernoulli_(1.0 - p) / (1.0 - p)
    return x * keep


torch.fx.wrap("stochastic_depth")  # a leaf of fx tracing, as torchvision makes it


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of an NCHW map, through channels-last."""

    def forward(self, x):
        x = F.layer_norm(x.permute(0, 2, 3, 1), self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class ConvNeXtBlock(nn.Module):
    """Depthwise 7x7, LayerNorm and an MLP channels-last, a learned per-channel layer scale
    and stochastic depth on the residual branch."""

    def __init__(self, dim: int, layer_scale: float = 1e-6, drop: float = 0.1) -> None:
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, 4 * dim)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(4 * dim, dim)
        self.gamma = nn.Parameter(torch.full((dim, 1, 1), layer_scale))
        self.drop = drop

    def forward(self, x):
        y = self.norm(self.dwconv(x).permute(0, 2, 3, 1))
        y = self.fc2(self.act(self.fc1(y))).permute(0, 3, 1, 2)
        return x + stochastic_depth(self.gamma * y, self.drop, self.training)


class ConvNeXt(nn.Module):
    def __init__(self, widths: tuple[int, int] = (16, 32), num_classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, widths[0], 4, stride=4), LayerNorm2d(widths[0]))
        self.stage1 = ConvNeXtBlock(widths[0])
        self.down = nn.Sequential(LayerNorm2d(widths[0]), nn.Conv2d(widths[0], widths[1], 2, stride=2))
        self.stage2 = ConvNeXtBlock(widths[1])
        self.norm = nn.LayerNorm(widths[1])
        self.fc = nn.Linear(widths[1], num_classes)

    def forward(self, x):
        x = self.stage2(self.down(self.stage1(self.stem(x))))
        return self.fc(self.norm(x.mean((2, 3))))


def convnext():
    return ConvNeXt(), (1, 3, 32, 32)


ZOO = {"resnet": resnet, "mobilenet_v2": mobilenet_v2, "densenet": densenet,
       "inception": inception, "senet": senet, "transformer": transformer, "convnext": convnext}
