"""Translation of tf_slim/losses/metric_learning_test.py (tf_slim 1.1).

Its numpy reference implementations (``pairwise_distance_np``, the loops in
each test, ``ForwardGreedyFacility``) are kept as the independent check;
sklearn's ``normalized_mutual_info_score`` and ``make_blobs`` (not installed
here) are replaced by the numpy helpers ``nmi_np`` and ``make_blobs_np``.
TF drew its data unseeded; these tests seed numpy and run several seeds.

| tf_slim test class        | translated | passing | documented difference | untranslatable |
|---------------------------|-----------:|--------:|----------------------:|---------------:|
| ContrastiveLossTest       | 1 | 1 | 0 | 0 |
| TripletSemiHardLossTest   | 1 | 1 | 0 | 0 |
| LiftedStructLossTest      | 1 | 1 | 0 | 0 |
| NpairsLossTest            | 1 | 1 | 0 | 0 |
| NpairsLossMultiLabelTest  | 2 | 2 | 0 | 0 |
| ClusterLossTest           | 2 | 2 | 0 | 0 |

Untranslatable: none.

After the translated tests: slimtorch's own checks (hand values of the
clustering scores, input forms, gradients, errors, collections).
"""

import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import slimtorch as slim
from slimtorch.losses import _cluster_scores, _facility_location, metric_learning

SEEDS = [0, 1, 2]


def t(x):
    return torch.as_tensor(np.asarray(x))


def assert_all_close(expected, actual, rtol=1e-6, atol=1e-6):
    # tf.test.TestCase.assertAllClose's default tolerances.
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64),
                               np.asarray(expected, dtype=np.float64), rtol=rtol, atol=atol)


def softmax_xent_np(logits, labels):
    logits = logits - logits.max(1, keepdims=True)
    log_softmax = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    return -(labels * log_softmax).sum(1)


# -- the reference implementations of metric_learning_test.py ---------------------------
def pairwise_distance_np(feature, squared=False):
    """Computes the pairwise distance matrix in numpy."""
    triu = np.triu_indices(feature.shape[0], 1)
    upper_tri_pdists = np.linalg.norm(feature[triu[1]] - feature[triu[0]], axis=1)
    if squared:
        upper_tri_pdists **= 2.
    num_data = feature.shape[0]
    pairwise_distances = np.zeros((num_data, num_data))
    pairwise_distances[np.triu_indices(num_data, 1)] = upper_tri_pdists
    # Make symmetrical.
    pairwise_distances = pairwise_distances + pairwise_distances.T - np.diag(
        pairwise_distances.diagonal())
    return pairwise_distances


def nmi_np(y, p):
    """sklearn's normalized_mutual_info_score (arithmetic mean), from its definition."""
    classes, yi = np.unique(y, return_inverse=True)
    clusters, pi = np.unique(p, return_inverse=True)
    if len(classes) == len(clusters) == 1:
        return 1.0
    joint = np.zeros((len(classes), len(clusters)))
    np.add.at(joint, (yi, pi), 1.0)
    joint /= len(y)
    py, pp = joint.sum(1), joint.sum(0)
    nz = joint > 0
    mi = np.sum(joint[nz] * np.log(joint[nz] / np.outer(py, pp)[nz]))
    if abs(mi) < np.finfo(np.float64).eps:
        return 0.0
    h = lambda q: -np.sum(q[q > 0] * np.log(q[q > 0]))  # noqa: E731
    return mi / ((h(py) + h(pp)) / 2)


def convert_to_list_of_sparse_tensor(np_matrix):
    list_of_sparse_tensors = []
    nrows, ncols = np_matrix.shape
    for i in range(nrows):
        sp_indices = [[j] for j in range(ncols) if np_matrix[i][j] == 1]
        list_of_sparse_tensors.append(torch.sparse_coo_tensor(
            torch.tensor(sp_indices, dtype=torch.long).reshape(-1, 1).T,
            torch.ones(len(sp_indices)), (ncols,), check_invariants=True))
    return list_of_sparse_tensors


def compute_ground_truth_cluster_score(feat, y):
    y_unique = np.unique(y)
    score_gt_np = 0.0
    for c in y_unique:
        feat_subset = feat[y == c, :]
        pdist_subset = pairwise_distance_np(feat_subset)
        score_gt_np += -1.0 * np.min(np.sum(pdist_subset, axis=0))
    score_gt_np = score_gt_np.astype(np.float32)
    return score_gt_np


def compute_cluster_loss_numpy(feat, y, margin_multiplier=1.0, enable_pam_finetuning=True):
    facility = ForwardGreedyFacility(n_clusters=np.unique(y).size)
    if enable_pam_finetuning:
        facility = facility.pam_augmented_fit(feat, y, margin_multiplier)
    else:
        facility = facility.loss_augmented_fit(feat, y, margin_multiplier)
    score_augmented = facility.score_aug_
    score_gt = compute_ground_truth_cluster_score(feat, y)
    return np.maximum(np.float32(0.0), score_augmented - score_gt)


class ForwardGreedyFacility(object):
    """metric_learning_test.py's reference, sklearn's NMI replaced by nmi_np."""

    def __init__(self, n_clusters=8):
        self.n_clusters = n_clusters
        self.center_ics_ = None

    def loss_augmented_fit(self, feat, y, loss_mult):
        pdists = pairwise_distance_np(feat)
        num_data = feat.shape[0]
        candidate_ids = list(range(num_data))
        subset = []
        k = 0
        while k < self.n_clusters:
            candidate_scores = []
            for i in candidate_ids:
                subset.append(i)
                marginal_cost = -1.0 * np.sum(np.min(pdists[:, subset], axis=1))
                loss = 1.0 - nmi_np(y, self._get_cluster_ics(pdists, subset))
                candidate_scores.append(marginal_cost + loss_mult * loss)
                subset.pop()
            i_star = candidate_ids[np.argmax(candidate_scores)]
            subset.append(i_star)
            candidate_ids.remove(i_star)
            k += 1
        self.labels_ = self._get_cluster_ics(pdists, subset)
        self.center_ics_ = subset
        self.score_ = np.float32(-1.0) * self._get_facility_distance(pdists, subset)
        self.score_aug_ = self.score_ + loss_mult * (
            1.0 - nmi_np(y, self._get_cluster_ics(pdists, subset)))
        self.score_aug_ = self.score_aug_.astype(np.float32)
        self.subset_ = subset
        return self

    def _augmented_update_medoid_ics_in_place(self, pdists, y_gt, cluster_ics, medoid_ics,
                                              loss_mult):
        for cluster_idx in range(self.n_clusters):
            y_pred = cluster_ics
            if sum(y_pred == cluster_idx) == 0:
                continue
            curr_score = (
                -1.0 * np.sum(pdists[medoid_ics[cluster_idx], y_pred == cluster_idx]) +
                loss_mult * (1.0 - nmi_np(y_gt, y_pred)))
            pdist_in = pdists[y_pred == cluster_idx, :]
            pdist_in = pdist_in[:, y_pred == cluster_idx]
            all_scores_fac = np.sum(-1.0 * pdist_in, axis=1)
            all_scores_loss = []
            for i in range(y_pred.size):
                if y_pred[i] != cluster_idx:
                    continue
                medoid_ics_i = medoid_ics[:cluster_idx] + medoid_ics[cluster_idx + 1:]
                medoid_ics_i += [i]
                y_pred_i = self._get_cluster_ics(pdists, medoid_ics_i)
                all_scores_loss.append(loss_mult * (1.0 - nmi_np(y_gt, y_pred_i)))
            all_scores = all_scores_fac + all_scores_loss
            max_score_idx = np.argmax(all_scores)
            max_score = all_scores[max_score_idx]
            if max_score > curr_score:
                medoid_ics[cluster_idx] = np.where(y_pred == cluster_idx)[0][max_score_idx]

    def pam_augmented_fit(self, feat, y, loss_mult):
        pam_max_iter = 5
        pdists = pairwise_distance_np(feat)
        self.loss_augmented_fit(feat, y, loss_mult)
        subset = self.center_ics_
        for _ in range(pam_max_iter):
            cluster_ics = self._get_cluster_ics(pdists, subset)
            self._augmented_update_medoid_ics_in_place(pdists, y, cluster_ics, subset, loss_mult)
            self.score_ = np.float32(-1.0) * self._get_facility_distance(pdists, subset)
            self.score_aug_ = self.score_ + loss_mult * (
                1.0 - nmi_np(y, self._get_cluster_ics(pdists, subset)))
            self.score_aug_ = self.score_aug_.astype(np.float32)
        self.center_ics_ = subset
        self.labels_ = cluster_ics
        return self

    def _get_cluster_ics(self, pdists, subset):
        return np.argmin(pdists[subset, :], axis=0)

    def _get_facility_distance(self, pdists, subset):
        return np.sum(np.min(pdists[subset, :], axis=0))


def make_blobs_np(rng, n_samples, n_clusters):
    """sklearn's make_blobs defaults: 2-D, centers in the box (-10, 10), std 1, shuffled."""
    centers = rng.uniform(-10.0, 10.0, size=(n_clusters, 2))
    labels = rng.permutation(np.arange(n_samples) % n_clusters)
    return centers[labels] + rng.normal(size=(n_samples, 2)), labels


# -- ContrastiveLossTest -----------------------------------------------------------------
@pytest.mark.parametrize("seed", SEEDS)
def test_contrastive(seed):
    rng = np.random.RandomState(seed)
    num_data, feat_dim, margin = 10, 6, 1.0
    embeddings_anchor = rng.rand(num_data, feat_dim).astype(np.float32)
    embeddings_positive = rng.rand(num_data, feat_dim).astype(np.float32)
    labels = rng.randint(0, 2, size=(num_data,)).astype(np.float32)
    dist = np.sqrt(np.sum(np.square(embeddings_anchor - embeddings_positive), axis=1))
    loss_np = np.mean(labels * np.square(dist) +
                      (1.0 - labels) * np.square(np.maximum(margin - dist, 0.0)))
    loss = slim.losses.contrastive_loss(labels=t(labels), embeddings_anchor=t(embeddings_anchor),
                                        embeddings_positive=t(embeddings_positive), margin=margin)
    assert_all_close(loss_np, loss)


# -- TripletSemiHardLossTest -------------------------------------------------------------
@pytest.mark.parametrize("seed", SEEDS)
def test_triplet_semi_hard(seed):
    rng = np.random.RandomState(seed)
    num_data, feat_dim, margin, num_classes = 10, 6, 1.0, 4
    embedding = rng.rand(num_data, feat_dim).astype(np.float32)
    labels = rng.randint(0, num_classes, size=(num_data)).astype(np.float32)
    labels_reshaped = np.reshape(labels, (labels.shape[0], 1))
    adjacency = np.equal(labels_reshaped, labels_reshaped.T)
    pdist_matrix = pairwise_distance_np(embedding, squared=True)
    loss_np = 0.0
    num_positives = 0.0
    for i in range(num_data):
        for j in range(num_data):
            if adjacency[i][j] > 0.0 and i != j:
                num_positives += 1.0
                pos_distance = pdist_matrix[i][j]
                neg_distances = [pdist_matrix[i][k] for k in range(num_data) if adjacency[i][k] == 0]
                neg_distances.sort()
                chosen_neg_distance = neg_distances[0]
                for chosen_neg_distance in neg_distances:
                    if chosen_neg_distance > pos_distance:
                        break
                loss_np += np.maximum(0.0, margin - chosen_neg_distance + pos_distance)
    loss_np /= num_positives
    loss = slim.losses.triplet_semihard_loss(labels=t(labels), embeddings=t(embedding),
                                             margin=margin)
    assert_all_close(loss_np, loss)


def lifted_struct_np(embedding, labels, margin):
    """LiftedStructLossTest's numpy loops."""
    num_data = embedding.shape[0]
    labels_reshaped = np.reshape(labels, (labels.shape[0], 1))
    adjacency = np.equal(labels_reshaped, labels_reshaped.T)
    pdist_matrix = pairwise_distance_np(embedding)
    loss_np = 0.0
    num_constraints = 0.0
    for i in range(num_data):
        for j in range(num_data):
            if adjacency[i][j] > 0.0 and i != j:
                d_pos = pdist_matrix[i][j]
                negs = [margin - pdist_matrix[i][k] for k in range(num_data) if not adjacency[i][k]]
                negs += [margin - pdist_matrix[j][k] for k in range(num_data) if not adjacency[j][k]]
                negs = np.array(negs)
                max_elem = np.max(negs)
                soft_maximum = np.log(np.sum(np.exp(negs - max_elem))) + max_elem
                num_constraints += 1.0
                this_loss = max(soft_maximum + d_pos, 0)
                loss_np += this_loss * this_loss
    loss_np = loss_np / num_constraints / 2.0
    return loss_np


# -- LiftedStructLossTest ----------------------------------------------------------------
@pytest.mark.parametrize("seed", SEEDS)
def test_lifted_struct(seed):
    rng = np.random.RandomState(seed)
    num_data, feat_dim, margin, num_classes = 10, 6, 1.0, 4
    embedding = rng.rand(num_data, feat_dim).astype(np.float32)
    labels = rng.randint(0, num_classes, size=(num_data)).astype(np.float32)
    loss_np = lifted_struct_np(embedding, labels, margin)
    loss = slim.losses.lifted_struct_loss(labels=t(labels), embeddings=t(embedding), margin=margin)
    assert_all_close(loss_np, loss)


# -- NpairsLossTest ----------------------------------------------------------------------
@pytest.mark.parametrize("seed", SEEDS)
def test_npairs(seed):
    rng = np.random.RandomState(seed)
    num_data, feat_dim, num_classes, reg_lambda = 15, 6, 5, 0.02
    embeddings_anchor = rng.rand(num_data, feat_dim).astype(np.float32)
    embeddings_positive = rng.rand(num_data, feat_dim).astype(np.float32)
    labels = rng.randint(0, num_classes, size=(num_data)).astype(np.float32)
    labels_reshaped = np.reshape(labels, (labels.shape[0], 1))
    reg_term = np.mean(np.sum(np.square(embeddings_anchor), 1))
    reg_term += np.mean(np.sum(np.square(embeddings_positive), 1))
    reg_term *= 0.25 * reg_lambda
    similarity_matrix = np.matmul(embeddings_anchor, embeddings_positive.T)
    labels_remapped = np.equal(labels_reshaped, labels_reshaped.T).astype(np.float32)
    labels_remapped /= np.sum(labels_remapped, axis=1, keepdims=True)
    # TF's nn.softmax_cross_entropy_with_logits, here in numpy.
    loss_np = np.mean(softmax_xent_np(similarity_matrix, labels_remapped)) + reg_term
    loss = slim.losses.npairs_loss(labels=t(labels), embeddings_anchor=t(embeddings_anchor),
                                   embeddings_positive=t(embeddings_positive),
                                   reg_lambda=reg_lambda)
    assert_all_close(loss_np, loss)


# -- NpairsLossMultiLabelTest ------------------------------------------------------------
@pytest.mark.parametrize("seed", SEEDS)
def test_npairs_multilabel_loss_with_single_label_equals_npairs_loss(seed):
    rng = np.random.RandomState(seed)
    num_data, feat_dim, reg_lambda = 15, 6, 0.02
    embeddings_anchor = rng.rand(num_data, feat_dim).astype(np.float32)
    embeddings_positive = rng.rand(num_data, feat_dim).astype(np.float32)
    labels = np.reshape(np.arange(num_data), -1)
    loss_npairs = slim.losses.npairs_loss(
        labels=t(labels), embeddings_anchor=t(embeddings_anchor),
        embeddings_positive=t(embeddings_positive), reg_lambda=reg_lambda)
    labels_one_hot = np.identity(num_data)
    loss_npairs_multilabel = slim.losses.npairs_loss_multilabel(
        sparse_labels=convert_to_list_of_sparse_tensor(labels_one_hot),
        embeddings_anchor=t(embeddings_anchor), embeddings_positive=t(embeddings_positive),
        reg_lambda=reg_lambda)
    assert_all_close(loss_npairs, loss_npairs_multilabel)


@pytest.mark.parametrize("seed", SEEDS)
def test_npairs_multilabel(seed):
    rng = np.random.RandomState(seed)
    num_data, feat_dim, num_classes, reg_lambda = 15, 6, 10, 0.02
    embeddings_anchor = rng.rand(num_data, feat_dim).astype(np.float32)
    embeddings_positive = rng.rand(num_data, feat_dim).astype(np.float32)
    labels = rng.randint(0, 2, (num_data, num_classes))
    # set entire column to one so that each row has at least one bit set.
    labels[:, -1] = 1
    reg_term = np.mean(np.sum(np.square(embeddings_anchor), 1))
    reg_term += np.mean(np.sum(np.square(embeddings_positive), 1))
    reg_term *= 0.25 * reg_lambda
    similarity_matrix = np.matmul(embeddings_anchor, embeddings_positive.T)
    labels_remapped = np.dot(labels, labels.T).astype(float)
    labels_remapped /= np.sum(labels_remapped, 1, keepdims=True)
    loss_np = np.mean(softmax_xent_np(similarity_matrix, labels_remapped)) + reg_term
    loss = slim.losses.npairs_loss_multilabel(
        sparse_labels=convert_to_list_of_sparse_tensor(labels),
        embeddings_anchor=t(embeddings_anchor), embeddings_positive=t(embeddings_positive),
        reg_lambda=reg_lambda)
    assert_all_close(loss_np, loss)


# -- ClusterLossTest ---------------------------------------------------------------------
def _gen_clusters(seed, n_samples, n_clusters):
    embedding, labels = make_blobs_np(np.random.default_rng(seed), n_samples, n_clusters)
    embedding = (embedding - embedding.mean(axis=0)) / embedding.std(axis=0)
    return embedding.astype(np.float32), labels


@pytest.mark.parametrize("pam", [False, True], ids=["PAMOff", "PAMOn"])
def test_clustering_loss(pam):
    margin_multiplier = 10.0
    embeddings, labels = _gen_clusters(0, n_samples=128, n_clusters=64)
    loss_np = compute_cluster_loss_numpy(embeddings, labels, margin_multiplier,
                                         enable_pam_finetuning=pam)
    loss = slim.losses.cluster_loss(labels=t(labels), embeddings=t(embeddings),
                                    margin_multiplier=margin_multiplier, enable_pam_finetuning=pam)
    assert_all_close(loss_np, loss)


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("pam", [False, True], ids=["PAMOff", "PAMOn"])
def test_clustering_loss_small_batches(seed, pam):
    embeddings, labels = _gen_clusters(seed, n_samples=24, n_clusters=6)
    loss_np = compute_cluster_loss_numpy(embeddings, labels, 2.0, enable_pam_finetuning=pam)
    loss = slim.losses.cluster_loss(t(labels)[:, None], t(embeddings), 2.0,
                                    enable_pam_finetuning=pam)
    assert_all_close(loss_np, loss, rtol=1e-5, atol=1e-5)


# -- slimtorch's own checks --------------------------------------------------------------
def test_pairwise_distance_matches_numpy_and_has_a_zero_diagonal():
    feature = torch.rand(9, 5, dtype=torch.float64)
    feature[3] = feature[1]  # a zero off-diagonal distance
    for squared in (False, True):
        d = metric_learning.pairwise_distance(feature, squared=squared)
        assert_all_close(pairwise_distance_np(feature.numpy(), squared=squared), d, 1e-10, 1e-7)
        assert (d.diagonal() == 0).all()
    feature.requires_grad_(True)
    metric_learning.pairwise_distance(feature).sum().backward()
    assert torch.isfinite(feature.grad).all()


def test_metric_learning_losses_are_returned_not_collected():
    emb, labels = torch.rand(6, 3), torch.tensor([0, 0, 1, 1, 2, 2])
    slim.losses.triplet_semihard_loss(labels, emb)
    slim.losses.lifted_struct_loss(labels, emb)
    slim.losses.npairs_loss(labels, emb, emb)
    slim.losses.contrastive_loss(labels % 2, emb, emb)
    slim.losses.cluster_loss(labels, emb, 1.0)
    assert slim.losses.get_losses() == []
    assert slim.losses.metric_learning.triplet_semihard_loss is slim.losses.triplet_semihard_loss


def test_gradients_are_finite_where_tf_gave_nan():
    emb = torch.rand(4, 3, requires_grad=True)
    pair = emb.detach().clone().requires_grad_(True)
    loss = slim.losses.contrastive_loss(torch.tensor([1, 0, 1, 0]), emb, pair)  # identical pairs
    loss.backward()
    assert loss.item() == pytest.approx(0.5)  # the two dissimilar pairs at d = 0 cost margin²
    assert torch.isfinite(emb.grad).all()
    emb.grad = None
    same = slim.losses.lifted_struct_loss(torch.zeros(4), emb)  # every pair positive
    same.backward()
    assert same.item() == 0 and torch.isfinite(emb.grad).all()


def test_lifted_struct_is_stable_for_large_distances():
    rng = np.random.RandomState(3)
    embedding = 300.0 * rng.rand(10, 6)
    labels = rng.randint(0, 3, size=10)
    loss = slim.losses.lifted_struct_loss(t(labels), t(embedding), margin=1.0)
    assert_all_close(lifted_struct_np(embedding, labels, 1.0), loss, 1e-6, 1e-6)


def test_print_losses_prints_to_stderr(capsys):
    emb = torch.rand(4, 3)
    slim.losses.npairs_loss(torch.tensor([0, 1, 0, 1]), emb, emb, print_losses=True)
    slim.losses.npairs_loss_multilabel([[0], [1], [0], [1]], emb, emb, print_losses=True)
    slim.losses.cluster_loss(torch.tensor([0, 1, 0, 1]), emb, 1.0, print_losses=True)
    err = capsys.readouterr().err
    assert err.count("cross entropy:") == 2 and err.count("l2loss:") == 2
    assert "cluster_loss: clustering_loss:" in err


def test_semihard_falls_back_to_the_hardest_negative_and_no_positives_give_nan():
    # Hand case: anchor 2's positive 3 is farther than all its negatives (4, 9).
    emb = torch.tensor([[0.], [1.], [3.], [6.]])
    assert slim.losses.triplet_semihard_loss(torch.tensor([0, 0, 1, 1]), emb).item() == 0.25
    assert math.isnan(slim.losses.triplet_semihard_loss(torch.tensor([0, 1, 2, 3]), emb).item())


def test_triplet_gradient_matches_the_brute_force_formulation():
    torch.manual_seed(0)
    emb = torch.rand(12, 4, dtype=torch.float64, requires_grad=True)
    labels = torch.randint(0, 3, (12,))
    slim.losses.triplet_semihard_loss(labels, emb).backward()
    ref = emb.detach().requires_grad_(True)
    d = metric_learning.pairwise_distance(ref, squared=True)
    adj = labels[:, None] == labels[None, :]
    total, count = 0.0, 0
    for a, p in itertools.permutations(range(12), 2):
        if adj[a, p]:
            negs = d[a][~adj[a]]
            above = negs[negs > d[a, p]]
            neg = above.min() if len(above) else negs.max()
            total, count = total + (1.0 + d[a, p] - neg).clamp_min(0), count + 1
    (total / count).backward()
    torch.testing.assert_close(emb.grad, ref.grad)


def test_npairs_multilabel_accepts_dense_sparse_and_id_lists():
    emb_a, emb_p = torch.rand(3, 4), torch.rand(3, 4)
    ids = [[0, 2], [1], [2, 2]]
    dense = torch.tensor([[1., 0., 1.], [0., 1., 0.], [0., 0., 1.]])
    losses = [slim.losses.npairs_loss_multilabel(x, emb_a, emb_p)
              for x in (ids, dense, dense.to_sparse(), [r.to_sparse() for r in dense])]
    for loss in losses[1:]:
        torch.testing.assert_close(loss, losses[0])
    adjacency = dense @ dense.T
    xent = -(adjacency / adjacency.sum(1, keepdim=True) * F.log_softmax(emb_a @ emb_p.T, 1)).sum(1)
    reg = 0.25 * 0.002 * (emb_a.square().sum(1).mean() + emb_p.square().sum(1).mean())
    torch.testing.assert_close(losses[0], xent.mean() + reg)
    with pytest.raises(TypeError, match="npairs_loss_multilabel: sparse_labels must be"):
        slim.losses.npairs_loss_multilabel("0 2", emb_a, emb_p)
    with pytest.raises(ValueError, match="3 rows"):
        slim.losses.npairs_loss_multilabel(dense[:2], emb_a, emb_p)


def test_bad_inputs_name_the_loss_and_the_argument():
    emb = torch.rand(4, 3)
    with pytest.raises(ValueError, match=r"triplet_semihard_loss: labels must have shape \[4\]"):
        slim.losses.triplet_semihard_loss(torch.zeros(5), emb)
    with pytest.raises(ValueError, match="lifted_struct_loss: embeddings must be 2-D"):
        slim.losses.lifted_struct_loss(torch.zeros(4), emb[:, :, None])
    with pytest.raises(ValueError, match="npairs_loss: embeddings_anchor .* same shape"):
        slim.losses.npairs_loss(torch.zeros(4), emb, emb[:3])
    with pytest.raises(ValueError, match="cluster_loss: unrecognized margin_type 'f1'"):
        slim.losses.cluster_loss(torch.zeros(4), emb, 1.0, margin_type="f1")


def _mi_np(y, p):
    joint = np.zeros((y.max() + 1, p.max() + 1))
    np.add.at(joint, (y, p), 1.0 / len(y))
    outer = np.outer(joint.sum(1), joint.sum(0))
    return np.sum(joint[joint > 0] * np.log(joint[joint > 0] / outer[joint > 0]))


def test_cluster_scores_hand_values():
    y = np.array([0, 0, 1, 1])
    p = np.array([[0, 0, 1, 2], [1, 1, 0, 0], [0, 1, 2, 3], [0, 0, 0, 0]])
    # vs [0,0,1,2]: homogeneity 1, completeness ln2 / H(.5,.25,.25) = 2/3, V = 0.8;
    # vs [0,1,2,3]: homogeneity 1, completeness ln2 / ln4 = 1/2, V = 2/3.
    assert_all_close(_cluster_scores.v_measure(y, p), [0.8, 1.0, 2 / 3, 0.0])
    assert_all_close(_cluster_scores.normalized_mutual_info(y, p), [0.8, 1.0, 2 / 3, 0.0])
    assert_all_close(_cluster_scores.adjusted_rand(y, p), [4 / 7, 1.0, 0.0, 0.0])
    constant = np.zeros(4, dtype=np.int64)
    assert_all_close(_cluster_scores.normalized_mutual_info(constant, p[3:]), [1.0])
    assert_all_close(_cluster_scores.adjusted_mutual_info(constant, p[2:]), [0.0, 1.0])


def test_adjusted_mutual_info_against_the_permutation_expectation():
    # EMI is the mean MI over all relabellings of the points (the hypergeometric model).
    y, p = np.array([0, 0, 0, 1, 1, 2]), np.array([0, 0, 1, 1, 2, 2])
    emi = np.mean([_mi_np(y, p[list(perm)]) for perm in itertools.permutations(range(6))])
    h = lambda q: -np.sum(q * np.log(q))  # noqa: E731
    normalizer = (h(np.bincount(y) / 6) + h(np.bincount(p) / 6)) / 2
    expected = (_mi_np(y, p) - emi) / (normalizer - emi)
    actual = _cluster_scores.adjusted_mutual_info(y, p[None])
    assert_all_close([expected], actual, 1e-10, 1e-12)


@pytest.mark.parametrize("margin_type", ["nmi", "ami", "ari", "vmeasure", "const"])
def test_cluster_loss_margin_types(margin_type):
    embeddings, labels = _gen_clusters(3, n_samples=16, n_clusters=4)
    emb = t(embeddings).requires_grad_(True)
    loss = slim.losses.cluster_loss(t(labels), emb, 1.0, margin_type=margin_type)
    loss.backward()
    assert loss.item() >= 0 and torch.isfinite(emb.grad).all()
    assert "losses/" + margin_type in slim.summaries.get_summaries()
    # Well separated clusters: the inference finds the true medoids, (0, .1)
    # first, then (5, 0), then (0, 5) or (.1, 5), which cluster perfectly
    # (margin 0). 'const' compares the raw labels with the cluster positions
    # [0, 0, 1, 1, 2, 2]: they differ, so its margin stays 1.
    tight = torch.tensor([[0., 0.], [0., .1], [5., 0.], [5., .1], [0., 5.], [.1, 5.]])
    loss = slim.losses.cluster_loss(torch.tensor([1, 1, 0, 0, 2, 2]), tight, 1.0,
                                    margin_type=margin_type)
    assert loss.item() == pytest.approx(1.0 if margin_type == "const" else 0.0, abs=1e-6)


def test_incremental_assignments_equal_tf_argmin_with_ties():
    # Integer grid points: many equal distances, so the first-index tie rule matters.
    rng = np.random.RandomState(4)
    feature = torch.as_tensor(rng.randint(0, 3, size=(14, 2)).astype(np.float32))
    d = metric_learning.pairwise_distance(feature).numpy()
    labels = rng.randint(0, 4, size=14)
    seen = []

    def score_fn(assignments):
        seen.append(assignments.copy())
        return _cluster_scores.normalized_mutual_info(labels, assignments).astype(np.float32)

    chosen = _facility_location.greedy_facility_locations(d, 4, 1.0, score_fn)
    for step, assignments in enumerate(seen):
        candidates = np.setdiff1d(np.arange(14), chosen[:step])
        sets = np.concatenate([np.tile(chosen[:step], (len(candidates), 1)), candidates[:, None]], 1)
        np.testing.assert_array_equal(assignments, _facility_location.cluster_assignments(d, sets))
    predictions = _facility_location.cluster_assignments(d, chosen[None])[0]
    for cluster in range(4):
        members = np.flatnonzero(predictions == cluster)
        sets = np.tile(chosen, (len(members), 1))
        sets[:, cluster] = members
        np.testing.assert_array_equal(
            _facility_location._swap_assignments(d, chosen, cluster, members),
            _facility_location.cluster_assignments(d, sets))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_metric_learning_losses_on_cuda_equal_cpu():
    emb, labels = torch.rand(12, 5), torch.randint(0, 3, (12,))
    for fn in (slim.losses.triplet_semihard_loss, slim.losses.lifted_struct_loss,
               lambda y, e: slim.losses.npairs_loss(y, e, e.flip(0)),
               lambda y, e: slim.losses.contrastive_loss(y % 2, e, e.flip(0)),
               lambda y, e: slim.losses.cluster_loss(y, e, 1.0)):
        torch.testing.assert_close(fn(labels.cuda(), emb.cuda()).cpu(), fn(labels, emb))
