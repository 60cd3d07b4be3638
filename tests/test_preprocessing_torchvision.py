"""slimtorch.data.preprocessing.torchvision_style against torchvision's own transforms."""

from __future__ import annotations

import pytest
import torch
import torchvision.transforms as T
from torchvision.models import Inception_V3_Weights, ResNet50_Weights
from torchvision.transforms._presets import ImageClassification

from slimtorch.data.preprocessing import get_preprocessing, preprocessing_fn_map, torchvision_style
from slimtorch.data.preprocessing.torchvision_style import (IMAGENET_MEAN, IMAGENET_STD, preprocess_image,
                                                            random_resized_crop_box)


def _image(height, width, seed=0):
    return torch.randint(0, 256, (3, height, width), dtype=torch.uint8,
                         generator=torch.Generator().manual_seed(seed))


def _torchvision_train(size, scale=(0.08, 1.0)):
    """torchvision's reference training transforms (references/classification/presets.py)."""
    return T.Compose([T.RandomResizedCrop(size, scale=scale, antialias=True), T.RandomHorizontalFlip(),
                      T.ConvertImageDtype(torch.float), T.Normalize(IMAGENET_MEAN, IMAGENET_STD)])


@pytest.mark.parametrize("shape", [(300, 400), (401, 299), (256, 256)])
def test_eval_is_resnet50_weights_transforms(shape):
    image = _image(*shape)
    expected = ResNet50_Weights.IMAGENET1K_V1.transforms()
    out = preprocess_image(image, 224, 224)
    assert out.dtype == torch.float32 and out.shape == (3, 224, 224)
    torch.testing.assert_close(out, expected(image), rtol=0, atol=1e-6)
    # A float image in [0, 1] is resized in float, as torchvision does.
    as_float = image.float() / 255
    torch.testing.assert_close(preprocess_image(as_float, 224, 224), expected(as_float), rtol=0, atol=1e-6)


def test_eval_resize_follows_the_crop_and_the_resize_size_option():
    image = _image(300, 400, seed=1)
    # 299 -> 342, what Inception v3's torchvision weights publish.
    torch.testing.assert_close(preprocess_image(image, 299, 299),
                               Inception_V3_Weights.IMAGENET1K_V1.transforms()(image), rtol=0, atol=1e-6)
    # The V2 weights' 232 for a 224 crop, by option.
    torch.testing.assert_close(preprocess_image(image, 224, 224, resize_size=232),
                               ImageClassification(crop_size=224, resize_size=232)(image), rtol=0, atol=1e-6)


def test_constant_image_normalizes_to_the_imagenet_statistics():
    out = preprocess_image(torch.full((3, 300, 400), 255, dtype=torch.uint8), 224, 224)
    expected = (1 - torch.tensor(IMAGENET_MEAN)) / torch.tensor(IMAGENET_STD)
    torch.testing.assert_close(out, expected[:, None, None].expand(3, 224, 224))


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_training_is_torchvisions_reference_recipe_under_a_seed(seed):
    image = _image(300, 400, seed=seed)
    torch.manual_seed(seed)
    ours = preprocess_image(image, 224, 224, is_training=True)
    torch.manual_seed(seed)
    theirs = _torchvision_train(224)(image)
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-6)
    # A private generator draws the same stream as the seeded global one.
    private = preprocess_image(image, 224, 224, is_training=True, generator=torch.Generator().manual_seed(seed))
    assert torch.equal(private, ours)


def test_training_statistics_and_reproducibility():
    image = _image(300, 400, seed=5)
    low = (0 - torch.tensor(IMAGENET_MEAN)) / torch.tensor(IMAGENET_STD)
    high = (1 - torch.tensor(IMAGENET_MEAN)) / torch.tensor(IMAGENET_STD)
    outs = [preprocess_image(image, 64, 48, is_training=True, generator=torch.Generator().manual_seed(s))
            for s in range(6)]
    for out in outs:
        assert out.shape == (3, 64, 48) and out.dtype == torch.float32
        assert bool((out >= low[:, None, None] - 1e-6).all() and (out <= high[:, None, None] + 1e-6).all())
        # Uniform noise in [0, 255]: every crop keeps a mean near the middle grey.
        means = out.mean(dim=(1, 2)) * torch.tensor(IMAGENET_STD) + torch.tensor(IMAGENET_MEAN)
        torch.testing.assert_close(means, torch.full((3,), 0.5), atol=0.05, rtol=0)
    assert len({out.sum().item() for out in outs}) == len(outs)   # different seeds, different crops
    again = preprocess_image(image, 64, 48, is_training=True, generator=torch.Generator().manual_seed(3))
    assert torch.equal(again, outs[3])


@pytest.mark.parametrize("height,width,scale", [(300, 400, (0.08, 1.0)), (37, 500, (0.9, 1.0)),
                                                (500, 37, (0.9, 1.0)), (50, 52, (1.0, 1.0))])
def test_crop_box_is_random_resized_crop_get_params(height, width, scale):
    """Including the fallback (no try fits an extreme aspect ratio)."""
    ratio = (3 / 4, 4 / 3)
    for seed in range(5):
        torch.manual_seed(seed)
        expected = T.RandomResizedCrop.get_params(torch.zeros(1, height, width), list(scale), list(ratio))
        box = random_resized_crop_box(height, width, scale, ratio, generator=torch.Generator().manual_seed(seed))
        assert box == tuple(expected)


def test_factory_name_and_errors():
    assert preprocessing_fn_map["torchvision"] is torchvision_style
    image = _image(300, 400)
    assert torch.equal(get_preprocessing("torchvision")(image, 224, 224), preprocess_image(image, 224, 224))
    train = get_preprocessing("torchvision", is_training=True)
    assert train(image, 160, 160, generator=torch.Generator()).shape == (3, 160, 160)
    with pytest.raises(ValueError, match="use_grayscale=True"):
        get_preprocessing("torchvision", use_grayscale=True)(image, 224, 224)
    with pytest.raises(ValueError, match=r"RGB image \[3, height, width\].*expand\(3, -1, -1\)"):
        preprocess_image(image[:1], 224, 224)
    with pytest.raises(ValueError, match="channels-last"):
        preprocess_image(image.permute(1, 2, 0), 224, 224)
