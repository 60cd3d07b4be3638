"""Define VGG16 in TF-Slim syntax and inspect its variables.

The usage guide's ``vgg16`` function, as a TF-Slim user writes it, turned into
a PyTorch module with ``slim.Model``. Built on the ``meta`` device first, so
the 138M parameters are only allocated by ``materialize``.

Run:
    python recipes/define_vgg16.py             # table of variables, then a forward pass
    python recipes/define_vgg16.py --no-run    # table only (no weights allocated)
"""

import argparse

import torch

import slimtorch as slim


def vgg16(inputs, num_classes=1000, dropout_keep_prob=0.5):
    with slim.arg_scope([slim.conv2d, slim.fully_connected],
                        activation_fn=torch.relu,
                        weights_initializer=slim.truncated_normal_initializer(0.0, 0.01),
                        weights_regularizer=slim.l2_regularizer(0.0005)):
        net = slim.repeat(inputs, 2, slim.conv2d, 64, [3, 3], scope='conv1')
        net = slim.max_pool2d(net, [2, 2], scope='pool1')
        net = slim.repeat(net, 2, slim.conv2d, 128, [3, 3], scope='conv2')
        net = slim.max_pool2d(net, [2, 2], scope='pool2')
        net = slim.repeat(net, 3, slim.conv2d, 256, [3, 3], scope='conv3')
        net = slim.max_pool2d(net, [2, 2], scope='pool3')
        net = slim.repeat(net, 3, slim.conv2d, 512, [3, 3], scope='conv4')
        net = slim.max_pool2d(net, [2, 2], scope='pool4')
        net = slim.repeat(net, 3, slim.conv2d, 512, [3, 3], scope='conv5')
        net = slim.max_pool2d(net, [2, 2], scope='pool5')
        net = slim.flatten(net)
        net = slim.fully_connected(net, 4096, scope='fc6')
        net = slim.dropout(net, dropout_keep_prob, scope='dropout6')
        net = slim.fully_connected(net, 4096, scope='fc7')
        net = slim.dropout(net, dropout_keep_prob, scope='dropout7')
        net = slim.fully_connected(net, num_classes, activation_fn=None, scope='fc8')
    return net


def main(argv=None):
    parser = argparse.ArgumentParser(description="Define VGG16 the TF-Slim way.")
    parser.add_argument("--num_classes", type=int, default=1000)
    parser.add_argument("--no-run", action="store_true", help="do not allocate or run")
    args = parser.parse_args(argv)

    net = slim.Model(vgg16, num_classes=args.num_classes)
    with slim.variable_scope('vgg16'):
        net.build((1, 3, 224, 224), device='meta')

    total = 0
    for var in slim.get_model_variables():
        total += var.numel()
        print(f"{var.name:32s} {str(list(var.shape)):24s} {'trainable' if var.requires_grad else ''}")
    print(f"{len(slim.get_model_variables())} variables, {total:,} parameters, "
          f"{len(slim.losses.get_regularization_losses())} regularization losses")
    if args.no_run:
        return
    net.materialize('cpu').eval()
    with torch.no_grad():
        logits = net(torch.randn(1, 3, 224, 224))
    print("logits:", tuple(logits.shape))


if __name__ == "__main__":
    main()
