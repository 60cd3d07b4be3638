"""slimtorch.data.imagenet_labels: the shipped ImageNet class names against
research/slim's numbering and, independently, torchvision's category names."""

from __future__ import annotations

import os
import re

import pytest

from slimtorch.data import imagenet_labels
from slimtorch.data.dataset_utils import read_label_file
from slimtorch.data.imagenet_labels import (IMAGENET_LABELS_FILE, imagenet_class_names, imagenet_synsets,
                                            labels_for, write_imagenet_labels_file)

# torchvision shortened the two WordNet names that occur twice among the 1000
# classes ('crane' the bird and the machine, 'maillot' twice) to tell them apart.
TORCHVISION_RENAMED = {134: ("crane bird", "crane"), 639: ("maillot tank suit", "maillot, tank suit")}


def test_synsets_are_the_1000_ilsvrc_ids_sorted():
    synsets = imagenet_synsets()
    assert len(synsets) == 1000 == len(set(synsets))
    assert all(re.fullmatch(r"n\d{8}", s) for s in synsets)
    # research/slim's imagenet_lsvrc_2015_synsets.txt is sorted, and the class ids follow it.
    assert synsets == sorted(synsets)
    assert synsets[0] == "n01440764" and synsets[-1] == "n15075141"
    with open(IMAGENET_LABELS_FILE, encoding="utf-8") as f:
        assert [line.split("\t")[0] for line in f] == synsets


def test_names_with_and_without_background():
    with_bg, without = imagenet_class_names(), imagenet_class_names(background=False)
    assert list(with_bg) == list(range(1001)) and list(without) == list(range(1000))
    assert with_bg[0] == "background"
    assert with_bg[1] == without[0] == "tench, Tinca tinca"
    assert with_bg[2] == "goldfish, Carassius auratus"
    assert with_bg[1000] == without[999] == "toilet tissue, toilet paper, bathroom tissue"
    assert without[281] == "tabby, tabby cat" and without[409] == "analog clock"
    assert all(with_bg[k + 1] == without[k] for k in without)
    assert "background" not in without.values()
    # Fresh objects each call: a caller's edit does not leak into the next caller.
    with_bg[1] = "changed"
    assert imagenet_class_names()[1] == "tench, Tinca tinca"


def test_labels_for_picks_the_numbering_from_the_head_width():
    assert labels_for(1001) == imagenet_class_names(background=True)
    assert labels_for(1000) == imagenet_class_names(background=False)
    with pytest.raises(ValueError, match=r"1001 .*1000 .*num_classes=10\b"):
        labels_for(10)


def test_names_agree_with_torchvision_categories():
    """An independent source: torchvision's 1000 short names, in its class order."""
    from torchvision.models._meta import _IMAGENET_CATEGORIES

    ours = imagenet_class_names(background=False)
    assert len(_IMAGENET_CATEGORIES) == len(ours) == 1000
    exceptions = {}
    for label, short in enumerate(_IMAGENET_CATEGORIES):
        lemmas = [lemma.strip().lower() for lemma in ours[label].split(",")]
        if short.lower() not in lemmas:
            exceptions[label] = (short, ours[label])
    assert exceptions == TORCHVISION_RENAMED


@pytest.mark.parametrize("background", [True, False])
def test_write_labels_file_reads_back_as_research_slim_labels(tmp_path, background):
    path = str(tmp_path / "labels.txt")
    assert write_imagenet_labels_file(path, background=background) == path
    assert read_label_file(str(tmp_path)) == imagenet_class_names(background)
    with open(path, encoding="utf-8") as f:
        first = f.readline()
    assert first == ("0:background\n" if background else "0:tench, Tinca tinca\n")
    assert os.listdir(tmp_path) == ["labels.txt"]   # atomic write: no temp file left


def test_write_labels_file_relative_path_and_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_imagenet_labels_file("imagenet_labels.txt")
    assert read_label_file(".", "imagenet_labels.txt")[1000].startswith("toilet tissue")
    with pytest.raises(ValueError, match="names a directory"):
        write_imagenet_labels_file(str(tmp_path) + os.sep)


def test_damaged_table_names_the_file_and_line(tmp_path, monkeypatch):
    bad = tmp_path / "imagenet_labels.txt"
    bad.write_text("n01440764\ttench, Tinca tinca\nn01443537 goldfish\n", encoding="utf-8")
    monkeypatch.setattr(imagenet_labels, "IMAGENET_LABELS_FILE", str(bad))
    imagenet_labels._table.cache_clear()
    try:
        with pytest.raises(ValueError, match=re.escape(f"{bad}:2") + ".*reinstall"):
            imagenet_synsets()
        bad.write_text("n01440764\ttench, Tinca tinca\n", encoding="utf-8")
        with pytest.raises(ValueError, match="expected 1000 classes, found 1"):
            imagenet_synsets()
    finally:
        imagenet_labels._table.cache_clear()


def test_table_ships_as_package_data():
    tomllib = pytest.importorskip("tomllib")
    pyproject = os.path.join(os.path.dirname(__file__), os.pardir, "pyproject.toml")
    with open(pyproject, "rb") as f:
        package_data = tomllib.load(f)["tool"]["setuptools"]["package-data"]
    assert "files/imagenet_labels.txt" in package_data["slimtorch.data"]
    assert os.path.relpath(IMAGENET_LABELS_FILE, os.path.dirname(imagenet_labels.__file__)) == \
        os.path.join("files", "imagenet_labels.txt")
