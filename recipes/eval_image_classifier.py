"""research/slim's ``eval_image_classifier.py`` on slimtorch: accuracy and
recall@5 of a checkpoint, printed as ``eval/Accuracy: ...`` and written as
TensorBoard summaries. Identical to the ``slimtorch eval`` command.

    python recipes/eval_image_classifier.py --checkpoint_path=/tmp/tfmodel/
    # alongside training: evaluate every new checkpoint as it appears
    python recipes/eval_image_classifier.py --checkpoint_path=/tmp/tfmodel/ \\
        --eval_interval_secs=60

The steps live in ``slimtorch/classifier/evaluate.py``; copy it to change them.
"""

import argparse
import sys
import logging

from slimtorch.classifier import evaluate, flags

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    parser = flags.add_eval_flags(argparse.ArgumentParser(description=__doc__.split("\n")[0]))
    args = parser.parse_args()
    for note in flags.apply_research_slim_flags(args, "eval"):   # --num_clones=1 and the like
        print(note, file=sys.stderr)
    evaluate.main(args)
