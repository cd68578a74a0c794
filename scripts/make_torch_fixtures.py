"""Make the PyTorch checkpoint fixtures of tests/test_from_torch*.py (run once, with torch; the tests never need it).

Builds reduced-width models in the torchvision / RobustBench / MadryLab layouts
out of PyTorch's own layers, gives them random weights and random BatchNorm
statistics, saves them in every format the converter reads, and stores the
PyTorch logits and input gradients beside them (`<name>.npz`: `x` NHWC in
[0, 1], `v`, `logits`, `grad` = d(sum(logits * v))/dx, NHWC).

Files (all small; together well under 2 MB):
    madry_resnet50.pt        MadryLab dict (zip format): model with `module.model.` and
                             `module.attacker.model.` prefixes, normaliser buffers, optimizer, schedule
    madry_resnet50_dill.pt   the same dict written with `pickle_module=dill`
    madry_resnet18_legacy.pt a MadryLab dict in the pre-1.6 format (`_use_new_zipfile_serialization=False`)
    robustbench_preact18.pt  a RobustBench PreAct ResNet-18 state dict (`module.` prefix, as DataParallel saves)
    robustbench_wrn.safetensors  a WideResNet-10-1 in safetensors
    hostile.pt               a zip checkpoint whose pickle calls os.system (must be refused)
    hostile_legacy.pt        the same in the legacy format

Usage (a CPU-only torch in its own venv: `pip install torch==2.13.0 dill safetensors`):
    python scripts/make_torch_fixtures.py [--out tests/fixtures/torch]
"""

import argparse
import os
from pathlib import Path

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "torch"


class Bottleneck(nn.Module):
    """torchvision's v1.5 Bottleneck (stride on the 3x3)."""

    def __init__(self, inplanes, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.downsample = None
        if stride != 1 or inplanes != planes * 4:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes * 4, 1, stride, bias=False),
                                            nn.BatchNorm2d(planes * 4))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return F.relu(out + (x if self.downsample is None else self.downsample(x)))


class BasicBlock(nn.Module):
    """torchvision's BasicBlock."""

    def __init__(self, inplanes, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(out + (x if self.downsample is None else self.downsample(x)))


class ResNet(nn.Module):
    """torchvision's ResNet (stem: 7x7/2 conv, 3x3/2 max-pool), with reduced widths."""

    def __init__(self, block, blocks, widths, num_classes):
        super().__init__()
        expansion = 4 if block is Bottleneck else 1
        self.conv1 = nn.Conv2d(3, widths[0], 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        inplanes = widths[0]
        for stage, (planes, count) in enumerate(zip(widths, blocks)):
            layers = []
            for i in range(count):
                layers.append(block(inplanes, planes, 2 if stage > 0 and i == 0 else 1))
                inplanes = planes * expansion
            setattr(self, f"layer{stage + 1}", nn.Sequential(*layers))
        self.fc = nn.Linear(inplanes, num_classes)

    def forward(self, x):
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        for i in range(1, 5):
            x = getattr(self, f"layer{i}")(x)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class InputNormalize(nn.Module):
    """MadryLab `robustness.helpers.InputNormalize` (buffers `new_mean`, `new_std` of shape (3, 1, 1))."""

    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("new_mean", torch.tensor(mean)[..., None, None])
        self.register_buffer("new_std", torch.tensor(std)[..., None, None])

    def forward(self, x):
        return (torch.clamp(x, 0, 1) - self.new_mean) / self.new_std


class AttackerModel(nn.Module):
    """MadryLab `AttackerModel`: `normalizer`, `model` and an `attacker` holding the same model again."""

    def __init__(self, model, mean, std):
        super().__init__()
        self.normalizer = InputNormalize(mean, std)
        self.model = model
        self.attacker = nn.Module()
        self.attacker.normalize = InputNormalize(mean, std)
        self.attacker.model = model

    def forward(self, x):
        return self.model(self.normalizer(x))


class PreActBlock(nn.Module):
    def __init__(self, in_planes, planes, stride):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(nn.Conv2d(in_planes, planes, 1, stride, bias=False))

    def forward(self, x):
        out = F.relu(self.bn1(x))
        shortcut = self.shortcut(out) if hasattr(self, "shortcut") else x
        out = self.conv1(out)
        out = self.conv2(F.relu(self.bn2(out)))
        return out + shortcut


class PreActResNet18(nn.Module):
    """RobustBench's PreActResNet (kuangliu layout), reduced widths."""

    def __init__(self, widths, num_classes):
        super().__init__()
        self.conv1 = nn.Conv2d(3, widths[0], 3, 1, 1, bias=False)
        in_planes = widths[0]
        for stage, planes in enumerate(widths):
            setattr(self, f"layer{stage + 1}", nn.Sequential(
                PreActBlock(in_planes, planes, 2 if stage > 0 else 1), PreActBlock(planes, planes, 1)))
            in_planes = planes
        self.bn = nn.BatchNorm2d(in_planes)
        self.linear = nn.Linear(in_planes, num_classes)

    def forward(self, x):
        out = self.conv1(x)
        for i in range(1, 5):
            out = getattr(self, f"layer{i}")(out)
        out = F.avg_pool2d(F.relu(self.bn(out)), 4)
        return self.linear(out.view(out.size(0), -1))


class WideBlock(nn.Module):
    """TRADES / RobustBench WideResNet BasicBlock."""

    def __init__(self, in_planes, out_planes, stride):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.relu1 = nn.ReLU()
        self.conv1 = nn.Conv2d(in_planes, out_planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_planes)
        self.relu2 = nn.ReLU()
        self.conv2 = nn.Conv2d(out_planes, out_planes, 3, 1, 1, bias=False)
        self.equalInOut = in_planes == out_planes
        self.convShortcut = None if self.equalInOut else nn.Conv2d(in_planes, out_planes, 1, stride, 0, bias=False)

    def forward(self, x):
        if not self.equalInOut:
            x = self.relu1(self.bn1(x))
        else:
            out = self.relu1(self.bn1(x))
        out = self.relu2(self.bn2(self.conv1(out if self.equalInOut else x)))
        out = self.conv2(out)
        return torch.add(x if self.equalInOut else self.convShortcut(x), out)


class NetworkBlock(nn.Module):
    def __init__(self, n, in_planes, out_planes, stride):
        super().__init__()
        self.layer = nn.Sequential(*[WideBlock(in_planes if i == 0 else out_planes, out_planes,
                                               stride if i == 0 else 1) for i in range(n)])

    def forward(self, x):
        return self.layer(x)


class WideResNet(nn.Module):
    def __init__(self, depth, widen_factor, num_classes):
        super().__init__()
        n = (depth - 4) // 6
        ch = [16, 16 * widen_factor, 32 * widen_factor, 64 * widen_factor]
        self.conv1 = nn.Conv2d(3, ch[0], 3, 1, 1, bias=False)
        self.block1 = NetworkBlock(n, ch[0], ch[1], 1)
        self.block2 = NetworkBlock(n, ch[1], ch[2], 2)
        self.block3 = NetworkBlock(n, ch[2], ch[3], 2)
        self.bn1 = nn.BatchNorm2d(ch[3])
        self.relu = nn.ReLU()
        self.fc = nn.Linear(ch[3], num_classes)
        self.nChannels = ch[3]

    def forward(self, x):
        out = self.block3(self.block2(self.block1(self.conv1(x))))
        out = F.avg_pool2d(self.relu(self.bn1(out)), 8)
        return self.fc(out.view(-1, self.nChannels))


def randomize(model, seed):
    """Random weights and random BatchNorm statistics (so a wrong copy of any of them shows in the logits)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.weight.copy_(0.5 + torch.rand(module.weight.shape, generator=gen))
                module.bias.copy_(0.2 * torch.randn(module.bias.shape, generator=gen))
                module.running_mean.copy_(0.2 * torch.randn(module.running_mean.shape, generator=gen))
                module.running_var.copy_(0.5 + torch.rand(module.running_var.shape, generator=gen))
                module.num_batches_tracked.fill_(7)
            elif isinstance(module, (nn.Conv2d, nn.Linear)):
                fan_in = module.weight[0].numel()
                module.weight.copy_(torch.randn(module.weight.shape, generator=gen) * (2.0 / fan_in) ** 0.5)
                if module.bias is not None:
                    module.bias.copy_(0.1 * torch.randn(module.bias.shape, generator=gen))
    return model.eval()


def reference(model, side, seed, path, batch=2):
    """Store inputs, a random output weighting `v`, PyTorch's logits and d(sum(logits * v))/dx (NHWC)."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand((batch, 3, side, side), generator=gen, dtype=torch.float64).float().requires_grad_(True)
    logits = model(x)
    v = torch.randn(logits.shape, generator=gen)
    (grad,) = torch.autograd.grad((logits * v).sum(), x)
    np.savez_compressed(path, x=x.detach().permute(0, 2, 3, 1).numpy(), v=v.numpy(),
                        logits=logits.detach().numpy(), grad=grad.permute(0, 2, 3, 1).numpy())


class _RunsCode:
    def __reduce__(self):
        return (os.system, ("echo robustkeras-fixture-ran-code > /dev/null",))


def madry_checkpoint(net, mean, std):
    """The dict MadryLab's `robustness.train` saves: model (both prefixes), optimizer, schedule, epoch."""
    wrapped = nn.DataParallel(AttackerModel(net, mean, std))
    opt = torch.optim.SGD(wrapped.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.StepLR(opt, step_size=50, gamma=0.1)
    return {"model": wrapped.state_dict(), "optimizer": opt.state_dict(), "schedule": schedule.state_dict(),
            "epoch": 3}


def main(out=OUT):
    import dill
    import safetensors.torch

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)

    resnet50 = randomize(ResNet(Bottleneck, (3, 4, 6, 3), (4, 8, 8, 16), 10), seed=1)
    reference(AttackerModel(resnet50, mean, std).eval(), 48, 11, out / "madry_resnet50.npz")
    torch.save(madry_checkpoint(resnet50, mean, std), out / "madry_resnet50.pt")
    torch.save(madry_checkpoint(resnet50, mean, std), out / "madry_resnet50_dill.pt", pickle_module=dill)

    odd_mean, odd_std = (0.5, 0.4, 0.3), (0.2, 0.25, 0.3)  # not ImageNet's: the normaliser must come from the file
    resnet18 = randomize(ResNet(BasicBlock, (2, 2, 2, 2), (8, 8, 16, 16), 10), seed=2)
    reference(AttackerModel(resnet18, odd_mean, odd_std).eval(), 48, 12, out / "madry_resnet18_legacy.npz")
    torch.save(madry_checkpoint(resnet18, odd_mean, odd_std), out / "madry_resnet18_legacy.pt",
               _use_new_zipfile_serialization=False)

    preact = randomize(PreActResNet18((8, 8, 16, 16), 10), seed=3)
    reference(preact, 32, 13, out / "robustbench_preact18.npz")
    torch.save(nn.DataParallel(preact).state_dict(), out / "robustbench_preact18.pt")

    wrn = randomize(WideResNet(10, 1, 10), seed=4)
    reference(wrn, 32, 14, out / "robustbench_wrn.npz")
    safetensors.torch.save_file({k: v.contiguous() for k, v in wrn.state_dict().items()},
                                str(out / "robustbench_wrn.safetensors"))

    hostile = {"model": {"conv1.weight": torch.zeros(1)}, "payload": _RunsCode()}
    torch.save(hostile, out / "hostile.pt")
    torch.save(hostile, out / "hostile_legacy.pt", _use_new_zipfile_serialization=False)
    total = sum(f.stat().st_size for f in out.iterdir())
    print(f"Wrote {len(list(out.iterdir()))} files ({total / 1e6:.2f} MB) to {out}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(OUT))
    main(parser.parse_args().out)
