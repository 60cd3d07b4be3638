"""The guide's "Fine-Tuning a Model on a different task": VGG-16 trained on
ImageNet's 1000 classes, fine-tuned to a dataset with another class count.

The pretrained weights come from
* TF-Slim's model zoo by name (the default, ``pretrained:vgg_16``: downloaded
  and converted once into slimtorch's cache; ``pretrained:vgg_16.torchvision``
  for torchvision's), or
* a file: the zoo's ``vgg_16.ckpt`` (read without TensorFlow), or
  torchvision's ``vgg16-397923af.pth`` converted once with
  ``slimtorch convert vgg16-397923af.pth vgg_16.safetensors --net vgg_16 --torchvision``.

Everything but the logits (``vgg_16/fc8``, 1000 classes) is restored; the
new fc8 starts from its initializer. ::

    python recipes/finetune_vgg16.py --dataset_name folder \\
        --dataset_dir ~/pascal_voc_crops --train_dir /tmp/vgg_ft

``--trainable_scopes vgg_16/fc8`` trains only the new head. Run it again
and it resumes from ``--train_dir`` (the pretrained file is then ignored).
"""

import argparse

import torch

import slimtorch as slim
from slimtorch.data import get_dataset
from slimtorch.data.preprocessing import get_preprocessing


def parse_flags(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint_path", default="pretrained:vgg_16",
                        help="the ImageNet-trained VGG-16: pretrained:NAME (the model zoo's, "
                             "cached), a TF-Slim .ckpt or a slimtorch file")
    parser.add_argument("--checkpoint_exclude_scopes", default="vgg_16/fc8")
    parser.add_argument("--trainable_scopes", default=None)
    parser.add_argument("--dataset_name", default="folder")
    parser.add_argument("--dataset_dir", default=None)
    parser.add_argument("--dataset_split_name", default="train")
    parser.add_argument("--train_dir", default="/tmp/vgg_16_finetuned")
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--learning_rate", type=float, default=0.001)
    parser.add_argument("--max_number_of_steps", type=int, default=1000)
    parser.add_argument("--image_size", type=int, default=224)
    return parser.parse_args(argv)


def main(argv=None):
    flags = parse_flags(argv)

    # Load the data (VGG preprocessing: random scale, crop and flip).
    preprocess = get_preprocessing("vgg_16", is_training=True)
    size = flags.image_size
    dataset = get_dataset(flags.dataset_name, flags.dataset_split_name, flags.dataset_dir,
                          transform=lambda image: preprocess(image, size, size))
    data = torch.utils.data.DataLoader(dataset, batch_size=flags.batch_size, shuffle=True,
                                       drop_last=True)

    # Create the model, in Slim syntax, with the new number of classes.
    def vgg(images):
        with slim.arg_scope(slim.nets.vgg.vgg_arg_scope(weight_decay=0.0005)):
            return slim.nets.vgg.vgg_16(images, num_classes=dataset.num_classes)
    model = slim.Model(vgg).train()
    model.build(next(iter(data))[0])

    def total_loss(batch):
        images, labels = batch
        logits, _ = model(images)
        slim.losses.sparse_softmax_cross_entropy(logits, labels)
        return slim.losses.get_total_loss()

    train_op = slim.learning.create_train_op(
        total_loss, lambda params: torch.optim.SGD(params, lr=flags.learning_rate, momentum=0.9),
        variables_to_train=slim.learning.variables_to_train(flags.trainable_scopes))

    # Restore every layer but the excluded ones from the ImageNet checkpoint.
    variables_to_restore = slim.get_variables_to_restore(
        exclude=flags.checkpoint_exclude_scopes.split(","))
    def init_fn():   # runs on a fresh --train_dir only, so a resumed run downloads nothing
        path = slim.pretrained.resolve_pretrained(flags.checkpoint_path)
        return slim.assign_from_checkpoint(path, variables_to_restore)

    # Start training.
    return slim.learning.train(train_op, flags.train_dir, data,
                               number_of_steps=flags.max_number_of_steps, init_fn=init_fn,
                               log_every_n_steps=10)


if __name__ == "__main__":
    import logging
    logging.basicConfig(level=logging.INFO)
    main()
