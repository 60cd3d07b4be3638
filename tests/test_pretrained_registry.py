"""The pretrained-weights registry's entries checked for shape, without network:
each names a factory net whose head has the entry's class count, takes its
input size, has a known preprocessing and a well-formed URL and member; the
torchvision entries equal the installed torchvision's weight enums; and the
README table script (``scripts/pretrained_table.py``) detects a stale copy."""

import dataclasses
import importlib.util
import os
import re
from urllib.parse import urlparse

import pytest

from slimtorch.data.preprocessing.factory import preprocessing_fn_map
from slimtorch.nets import nets_factory
from slimtorch.pretrained import registry
from slimtorch.pretrained.registry import (REGISTRY, PretrainedWeights, default_pretrained, get_pretrained,
                                           pretrained_names, registry_table)
from slimtorch.tools.checkpoint_tools import build_zoo_net
from slimtorch.tools.torchvision_names import TORCHVISION_NETS

SCRIPT = os.path.join(os.path.dirname(__file__), os.pardir, "scripts", "pretrained_table.py")

# Written out independently of the registry: the factory nets research/slim publishes an
# ImageNet checkpoint for (README table, nets/mobilenet_v1.md, nets/mobilenet/README.md).
RESEARCH_SLIM_NETS = {
    "inception_v1", "inception_v2", "inception_v3", "inception_v4", "inception_resnet_v2",
    "resnet_v1_50", "resnet_v1_101", "resnet_v1_152", "resnet_v2_50", "resnet_v2_101", "resnet_v2_152",
    "vgg_16", "vgg_19", "mobilenet_v1", "mobilenet_v1_075", "mobilenet_v1_050", "mobilenet_v1_025",
    "mobilenet_v2", "mobilenet_v2_140", "mobilenet_v2_035", "mobilenet_v3_small", "mobilenet_v3_large",
    "mobilenet_v3_small_minimalistic", "mobilenet_v3_large_minimalistic", "mobilenet_edgetpu",
    "mobilenet_edgetpu_075", "nasnet_mobile", "nasnet_large", "pnasnet_mobile", "pnasnet_large",
}
CAFFE_CONVERTED = {"vgg_16", "vgg_19", "resnet_v1_50", "resnet_v1_101", "resnet_v1_152"}
# Cheap to build on the meta device, and one of each kind of head (1x1-conv logits,
# fully connected logits, NASNet's final_layer/FC, 1000 and 1001 classes).
QUICK = ["mobilenet_v1_025.128", "mobilenet_v3_small", "mobilenet_edgetpu_075", "inception_v1",
         "resnet_v1_50", "resnet_v1_50.torchvision", "nasnet_mobile"]


def _logits_width(entry):
    model = build_zoo_net(entry.net, entry.num_classes)
    last = model.records()[-1]       # every zoo net creates its logits biases last
    return last.name, list(last.tensor.shape)


@pytest.mark.parametrize("name", QUICK)
def test_class_count_is_the_head_width(name):
    entry = get_pretrained(name)
    last, shape = _logits_width(entry)
    assert shape == [entry.num_classes], last
    assert re.search(r"/(logits|Logits|FC)/(.*/)?biases$", last), last


@pytest.mark.slow
def test_class_count_is_the_head_width_for_every_entry():
    for name, entry in REGISTRY.items():
        last, shape = _logits_width(entry)
        assert shape == [entry.num_classes], (name, last)


def test_entries_name_factory_nets_with_their_input_and_preprocessing():
    known = set(nets_factory.network_names())
    for name, entry in REGISTRY.items():
        assert entry.name == name and entry.net in known, name
        assert name == entry.net or re.fullmatch(re.escape(entry.net) + r"\.[a-z0-9_]+", name), name
        assert entry.image_size >= nets_factory.min_image_size(entry.net), name
        assert entry.preprocessing in preprocessing_fn_map, name   # 'torchvision': ImageNet mean/std
        # torchvision's Inception v3 takes [-1, 1] inputs (its transform_input=True).
        expected = "inception" if name == "inception_v3.torchvision" else "torchvision"
        assert (entry.preprocessing == expected) == (entry.source == "torchvision"), name
        default = nets_factory.get_network_fn(entry.net, 10).default_image_size
        if entry.source == "research/slim" and name == entry.net and not entry.net.startswith("resnet_v2"):
            assert entry.image_size == default, name    # tagged ones and ResNet v2 (299) differ


def test_class_counts_follow_the_background_rule():
    # 1000 for Caffe-converted and torchvision weights, research/slim's 1001 for the rest.
    for name, entry in REGISTRY.items():
        expected = 1000 if entry.source == "torchvision" or entry.net in CAFFE_CONVERTED else 1001
        assert entry.num_classes == expected and entry.has_background == (expected == 1001), name


def test_urls_members_and_hashes_are_well_formed():
    for name, entry in REGISTRY.items():
        url = urlparse(entry.url)
        assert url.scheme in ("http", "https") and url.netloc and not url.query, name
        assert entry.archive_name == url.path.rsplit("/", 1)[1], name
        assert entry.archive_name.endswith((".tar.gz", ".tgz", ".pth")), name
        if entry.source == "torchvision":
            assert entry.member is None and entry.archive_name.endswith(".pth"), name
        else:
            member = entry.member
            assert member and not member.startswith("/") and ".." not in member.split("/"), name
            assert not member.endswith((".index", ".meta")) and ".data-" not in member, name  # a prefix
        for digest, length in ((entry.sha256, 64), (entry.sha256_prefix, None)):
            if digest is not None:
                assert re.fullmatch(r"[0-9a-f]{8,64}", digest) and length in (None, len(digest)), name


def test_coverage_names_and_defaults():
    slim_nets = {e.net for e in REGISTRY.values() if e.source == "research/slim"}
    assert slim_nets == RESEARCH_SLIM_NETS
    assert len(REGISTRY) == len(registry._RESEARCH_SLIM) + len(registry._TORCHVISION_ENTRIES)  # no key lost
    for net in RESEARCH_SLIM_NETS:
        assert default_pretrained(net) == net and pretrained_names(net)[0] == net
    assert default_pretrained("vgg_a") is None and pretrained_names("vgg_a") == ["vgg_a.torchvision"]
    assert default_pretrained("lenet") is None and pretrained_names("lenet") == []
    assert pretrained_names("mobilenet_v1_025") == ["mobilenet_v1_025", "mobilenet_v1_025.128"]
    assert pretrained_names() == list(REGISTRY)
    # The README's two smaller MobileNet v1 rows at their own input size.
    assert [get_pretrained(n).image_size for n in ("mobilenet_v1_050.160", "mobilenet_v1_025.128")] == [160, 128]
    with pytest.raises(ValueError, match="registered twice"):
        registry._index([get_pretrained("vgg_16"), get_pretrained("vgg_16")])


def test_moving_averages_and_licenses():
    for name, entry in REGISTRY.items():
        ema_family = entry.net.startswith(("mobilenet", "nasnet", "pnasnet"))
        assert entry.moving_averages == (entry.source == "research/slim" and ema_family), name
        assert entry.license
    assert get_pretrained("vgg_19").license.startswith("CC-BY-4.0")
    assert get_pretrained("resnet_v1_101").license.startswith("MIT")
    assert get_pretrained("inception_v4").license == "Apache-2.0"


def test_lookups_fail_with_the_known_names_and_entries_are_read_only():
    with pytest.raises(ValueError, match=r"no pretrained weights named 'resnet_50'; known: inception_v1, "
                                         r".*resnet_v1_50.*resnet_v1_50\.torchvision"):
        get_pretrained("resnet_50")
    with pytest.raises(ValueError, match="known:"):
        get_pretrained(None)
    with pytest.raises(TypeError):
        REGISTRY["mine"] = get_pretrained("vgg_16")
    with pytest.raises(dataclasses.FrozenInstanceError):
        get_pretrained("vgg_16").num_classes = 10
    assert isinstance(get_pretrained("vgg_16"), PretrainedWeights)


def test_torchvision_entries_equal_the_installed_enums():
    models = pytest.importorskip("torchvision.models")
    from torch.hub import HASH_REGEX

    enums = {"vgg11": models.VGG11_Weights, "vgg16": models.VGG16_Weights, "vgg19": models.VGG19_Weights,
             "resnet50": models.ResNet50_Weights, "resnet101": models.ResNet101_Weights,
             "resnet152": models.ResNet152_Weights, "inception_v3": models.Inception_V3_Weights}
    entries = [e for e in REGISTRY.values() if e.source == "torchvision"]
    assert {e.net for e in entries} == set(TORCHVISION_NETS)
    for entry in entries:
        weights = enums[TORCHVISION_NETS[entry.net]].IMAGENET1K_V1
        metrics = weights.meta["_metrics"]["ImageNet-1K"]
        assert entry.url == weights.url and entry.name == f"{entry.net}.torchvision"
        assert (entry.top1, entry.top5) == (metrics["acc@1"], metrics["acc@5"])
        assert entry.num_classes == len(weights.meta["categories"])
        assert [entry.image_size] == list(weights.transforms().crop_size)
        # torch.hub's check_hash compares the file's SHA-256 with this part of its name.
        assert entry.sha256_prefix == HASH_REGEX.search(entry.archive_name).group(1)


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("pretrained_table", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_table_rows_and_sizes():
    table = registry_table(["mobilenet_v1_025", "resnet_v1_50.torchvision"]).splitlines()
    assert len(table) == 4 and table[0].startswith("| Name | Net | Source | Classes |")
    cells = [row.strip("| ").split(" | ") for row in table[2:]]
    assert cells[0][:8] == ["mobilenet_v1_025", "mobilenet_v1_025", "research/slim", "1001", "224",
                            "inception", "49.8", "74.2"]
    assert cells[1][:8] == ["resnet_v1_50.torchvision", "resnet_v1_50", "torchvision", "1000", "224",
                            "torchvision", "76.13", "92.862"]
    # fp32 sizes from the variables' element counts: the same function's count, computed apart.
    for row, net, classes in ((cells[0], "mobilenet_v1_025", 1001), (cells[1], "resnet_v1_50", 1000)):
        count = sum(r.tensor.numel() for r in build_zoo_net(net, classes).records())
        assert row[8] == f"{4 * count / 1e6:.1f}"
    assert cells[1][9] == "BSD-3-Clause"
    assert "| – | – |" not in table[2] and registry_table(["mobilenet_v3_small"]).count("| – |") == 1


def test_script_checks_and_rewrites_the_readme_block(script, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(script, "registry_table", lambda: registry_table(["mobilenet_v1_025.128"]))
    readme = tmp_path / "README.md"
    readme.write_text(f"# t\n\n{script.START}\nold – table\n{script.END}\n\nafter\n", encoding="utf-8")
    assert script.main(["--check", str(readme)]) == 1
    assert "stale" in capsys.readouterr().err
    assert script.main(["--write", str(readme)]) == 0
    text = readme.read_text(encoding="utf-8")
    assert text.startswith(f"# t\n\n{script.START}\n| Name |") and text.endswith(f"{script.END}\n\nafter\n")
    assert "| mobilenet_v1_025.128 |" in text and "old" not in text
    assert script.main(["--check", str(readme)]) == 0
    readme.write_text("no markers\n", encoding="utf-8")
    assert script.main(["--check", str(readme)]) == 2
    assert "pretrained-table:start" in capsys.readouterr().err
    assert script.main([]) == 0 and "| mobilenet_v1_025.128 |" in capsys.readouterr().out
