"""research/slim's ``train_image_classifier.py`` on slimtorch: the same
flags, the same steps. Identical to the ``slimtorch train`` command.

    python recipes/train_image_classifier.py                      # LeNet on the digits
    python recipes/train_image_classifier.py --model_name=inception_v3 \\
        --dataset_name=flowers --dataset_dir=/data/flowers --train_dir=/tmp/flowers \\
        --checkpoint_path=inception_v3.ckpt \\
        --checkpoint_exclude_scopes=InceptionV3/Logits,InceptionV3/AuxLogits \\
        --trainable_scopes=InceptionV3/Logits,InceptionV3/AuxLogits

The steps live in ``slimtorch/classifier/train.py`` (about 60 readable
lines: dataset and preprocessing, network, loss, learning-rate schedule,
optimizer, init_fn, ``slim.learning.train``); copy that file to change them.
"""

import argparse
import sys
import logging

from slimtorch.classifier import flags, train

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    parser = flags.add_train_flags(argparse.ArgumentParser(description=__doc__.split("\n")[0]))
    args = parser.parse_args()
    for note in flags.apply_research_slim_flags(args, "train"):   # --num_clones=1 and the like
        print(note, file=sys.stderr)
    train.main(args)
