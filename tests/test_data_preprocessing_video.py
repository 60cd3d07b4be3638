"""The video nets' clip preprocessing (``slimtorch.data.preprocessing.video``),
checked against the same steps written out with the TF1 resize and slicing."""

import pytest
import torch

from slimtorch.data.preprocessing import get_preprocessing, video
from slimtorch.data.preprocessing.color import rgb_to_grayscale
from slimtorch.data.preprocessing.resize import resize_bilinear_tf1


def _expected(clip, top, left, size, resized, flip=False):
    height, width = (size, size) if isinstance(size, int) else size
    frames = resize_bilinear_tf1(clip, resized)[..., top:top + height, left:left + width]
    if flip:
        frames = frames.flip(-1)
    return frames / 255.0 * 2.0 - 1.0


def test_still_image_becomes_a_clip_of_identical_frames():
    image = torch.randint(0, 256, (3, 30, 40), dtype=torch.uint8)
    clip = video.preprocess_for_eval(image, 24, 24, num_frames=5, resize_side=32)
    assert clip.shape == (3, 5, 24, 24) and clip.dtype == torch.float32 and clip.is_contiguous()
    # shorter side 30 -> 32, so 40 -> 43 (rounded half to even as research/slim's vgg)
    expected = _expected(image[:, None].float(), 4, 9, 24, (32, 43))
    for t in range(5):
        torch.testing.assert_close(clip[:, t:t + 1], expected, rtol=0, atol=1e-6)


def test_clip_keeps_its_frames_and_range():
    clip = torch.randint(0, 256, (3, 4, 32, 32), dtype=torch.uint8)
    clip[:, 0] = 0
    clip[:, 1] = 255
    out = video.preprocess_for_eval(clip, 32, 32, resize_side=32)
    assert out.shape == (3, 4, 32, 32)
    assert out[:, 0].unique().tolist() == [-1.0] and out[:, 1].unique().tolist() == [1.0]
    torch.testing.assert_close(out[:, 2:], clip[:, 2:].float() / 255 * 2 - 1, rtol=0, atol=1e-6)


def test_training_crops_and_flips_every_frame_alike():
    clip = torch.randint(0, 256, (3, 3, 40, 50), dtype=torch.uint8)
    generator = torch.Generator().manual_seed(3)
    out = video.preprocess_for_train(clip, 24, 24, resize_side=40, generator=generator)
    # The same draws, in order: top, left, then the flip.
    replay = torch.Generator().manual_seed(3)
    top = int(torch.randint(0, 40 - 24 + 1, (1,), generator=replay))
    left = int(torch.randint(0, 50 - 24 + 1, (1,), generator=replay))
    flip = float(torch.rand((), generator=replay)) < 0.5
    torch.testing.assert_close(out, _expected(clip.float(), top, left, 24, (40, 50), flip),
                               rtol=0, atol=1e-5)
    flips = set()
    unflipped = _expected(clip.float(), 0, 0, (40, 50), (40, 50))
    for seed in range(20):   # each clip comes out whole or mirrored; both happen
        out = video.preprocess_for_train(clip, 40, 50, resize_side=40,
                                         generator=torch.Generator().manual_seed(seed))
        mirrored = torch.allclose(out, unflipped.flip(-1), rtol=0, atol=1e-5)
        assert mirrored or torch.allclose(out, unflipped, rtol=0, atol=1e-5)
        flips.add(mirrored)
    assert flips == {True, False}


def test_grayscale_and_the_factory():
    image = torch.randint(0, 256, (3, 24, 24), dtype=torch.uint8)
    grey = video.preprocess_image(image, 24, 24, num_frames=2, resize_side=24, use_grayscale=True)
    assert grey.shape == (1, 2, 24, 24)
    expected = rgb_to_grayscale(image.float()) / 255 * 2 - 1
    torch.testing.assert_close(grey[:, 0], expected, rtol=0, atol=1e-5)
    for name in ("i3d", "s3dg"):
        clip = get_preprocessing(name)(image, 24, 24, num_frames=3, resize_side=24)
        assert clip.shape == (3, 3, 24, 24)
    assert get_preprocessing("i3d")(torch.zeros(3, 256, 300, dtype=torch.uint8), 224, 224).shape \
        == (3, video.DEFAULT_NUM_FRAMES, 224, 224)


@pytest.mark.parametrize("bad, message", [
    (torch.zeros(4, 32, 32, 3), r"channels-last clip .* clip.permute\(3, 0, 1, 2\)"),
    (torch.zeros(32, 32, 3), r"looks channels-last"),
])
def test_bad_inputs_say_what_to_do(bad, message):
    with pytest.raises(ValueError, match=message):
        video.preprocess_image(bad, 24, 24)


def test_crop_larger_than_the_resized_frames_is_refused():
    with pytest.raises(ValueError, match=r"video preprocess_for_eval: crop size 300x300 is "
                                         r"greater than the resized image 256x256"):
        video.preprocess_image(torch.zeros(3, 64, 64), 300, 300)
