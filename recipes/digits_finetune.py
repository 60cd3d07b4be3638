"""Partial restore on real data, in a minute on a laptop CPU.

1. Train LeNet on the digits 0-4 only (a 5-way classifier).
2. Fine-tune it to all ten digits: a new 10-way net whose layers start from
   step 1's checkpoint, except the logits (``LeNet/fc4``), which do not fit.
3. For comparison, train the same 10-way net from scratch for as many steps.
4. Evaluate them on the test images, side by side.

    python recipes/digits_finetune.py --workdir /tmp/digits_finetune

Copy it and change the net, the data or the excluded scopes: it uses only
slimtorch's public API, the way TF-Slim's guide does.
"""

import argparse
import os

import torch

import slimtorch as slim
from slimtorch.data import DigitsDataset
from slimtorch.data.preprocessing import get_preprocessing

IMAGE_SIZE = 28   # LeNet's input; the 8x8 digits are padded as research/slim pads MNIST


def digits(split, classes, is_training, batch_size=32):
    """Batches of preprocessed digits from ``classes``."""
    preprocess = get_preprocessing("lenet", is_training=is_training)
    dataset = DigitsDataset(split, classes=classes,
                            transform=lambda image: preprocess(image, IMAGE_SIZE, IMAGE_SIZE))
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=is_training,
                                       generator=torch.Generator().manual_seed(0))


def train_lenet(num_classes, classes, train_dir, steps, restore_from=None, exclude=()):
    """Trains a ``num_classes``-way LeNet on ``classes``; optionally starts
    from ``restore_from`` minus the ``exclude`` scopes. Returns the net."""
    slim.reset_default_graph()   # a fresh program: new variables, a new global step
    network_fn = slim.nets.nets_factory.get_network_fn("lenet", num_classes, is_training=True)
    data = digits("train", classes, is_training=True)
    network_fn.build(next(iter(data))[0])   # create the variables, as TF-Slim's graph does

    init_fn = None
    if restore_from is not None:
        variables_to_restore = slim.get_variables_to_restore(exclude=list(exclude))
        init_fn = slim.assign_from_checkpoint_fn(restore_from, variables_to_restore)

    def total_loss(batch):
        images, labels = batch
        logits, _ = network_fn(images)
        slim.losses.sparse_softmax_cross_entropy(logits, labels)
        return slim.losses.get_total_loss()

    # research/slim's default optimizer: RMSProp with TF's update rule.
    train_op = slim.learning.create_train_op(
        total_loss, lambda params: slim.optimization.make_optimizer("rmsprop", params, 0.01))
    slim.learning.train(train_op, train_dir, data, number_of_steps=steps, init_fn=init_fn,
                        log_every_n_steps=0, seed=0, device="cpu")
    return network_fn


def test_accuracy(network_fn, train_dir, classes):
    """streaming_accuracy of the latest checkpoint in ``train_dir`` on the
    test images of ``classes``."""
    accuracy = slim.metrics.streaming_accuracy()

    def eval_op(batch):
        images, labels = batch
        logits, _ = network_fn(images)
        accuracy.update(logits.argmax(1), labels)

    values = slim.evaluation.evaluate_once(
        slim.checkpoint.latest_checkpoint(train_dir), None,
        digits("test", classes, is_training=False), eval_op=eval_op,
        metrics={"accuracy": accuracy}, device="cpu", quiet=True)
    return values["accuracy"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", default="/tmp/digits_finetune")
    parser.add_argument("--steps", type=int, default=300, help="training steps on digits 0-4")
    parser.add_argument("--finetune_steps", type=int, default=40,
                        help="training steps on all ten digits (fine-tuned and from scratch)")
    args = parser.parse_args(argv)
    first = os.path.join(args.workdir, "digits_0_4")
    tuned, scratch = os.path.join(args.workdir, "finetuned"), os.path.join(args.workdir, "scratch")

    net = train_lenet(5, range(5), first, args.steps)
    accuracy_0_4 = test_accuracy(net, first, range(5))
    print(f"LeNet on digits 0-4, {args.steps} steps: test accuracy {accuracy_0_4:.3f}")

    net = train_lenet(10, range(10), tuned, args.finetune_steps,
                      restore_from=slim.checkpoint.latest_checkpoint(first), exclude=["LeNet/fc4"])
    accuracy_tuned = test_accuracy(net, tuned, range(10))
    net = train_lenet(10, range(10), scratch, args.finetune_steps)
    accuracy_scratch = test_accuracy(net, scratch, range(10))
    print(f"all ten digits, {args.finetune_steps} steps: fine-tuned {accuracy_tuned:.3f}, "
          f"from scratch {accuracy_scratch:.3f}")
    return {"accuracy_0_4": accuracy_0_4, "finetuned": accuracy_tuned,
            "scratch": accuracy_scratch}


if __name__ == "__main__":
    main()
