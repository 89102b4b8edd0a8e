"""Linear centred kernel alignment (CKA) between two feature sets."""
import torch


def linear_cka(x: torch.Tensor, y: torch.Tensor) -> float:
    """Linear CKA between two representations of the same N samples.

    From "Similarity of Neural Network Representations Revisited",
    Kornblith, Norouzi, Lee, Hinton, ICML 2019 (arXiv 1905.00414), eq. (5):
    with the columns of X and Y centred (mean over samples removed),

    .. math::

        \\mathrm{CKA}(X, Y) = \\frac{\\lVert Y^\\top X \\rVert_F^2}
            {\\lVert X^\\top X \\rVert_F \\, \\lVert Y^\\top Y \\rVert_F}.

    This is the feature-space form: it builds D x D matrices, so it costs
    O(N D^2) time and O(D^2) memory, fine for N = 50k samples of
    2048-d features, where the N x N Gram-matrix form would not fit.
    It is invariant to orthogonal transforms and isotropic scaling of
    either set (not to arbitrary invertible linear maps), lies in [0, 1],
    is 1 for identical sets and tends to 0 for independent ones as N grows
    (about sqrt(D1 * D2) / N for independent white noise).

    Computed in float64: the centred Gram products of float32 features of
    a large N lose several digits otherwise.

    Args:
        x (torch.Tensor): Features of shape ``(N, D1)``.
        y (torch.Tensor): Features of the same samples, in the same order,
            of shape ``(N, D2)``. ``D1`` and ``D2`` may differ.

    Returns:
        float: The linear CKA, in [0, 1].

    Raises:
        ValueError: Not 2-D, different N, fewer than 2 samples, or a set
            whose features are constant over the samples (CKA undefined).
    """
    if x.dim() != 2 or y.dim() != 2:
        raise ValueError('linear_cka expects two (N, D) feature matrices, '
                         f'got shapes {tuple(x.shape)} and {tuple(y.shape)}.')
    if x.shape[0] != y.shape[0] or x.shape[0] < 2:
        raise ValueError('linear_cka needs the same N >= 2 samples in both '
                         f'sets, got {x.shape[0]} and {y.shape[0]}.')
    x = x.detach().to(torch.float64)
    y = y.detach().to(torch.float64)
    x = x - x.mean(dim=0, keepdim=True)
    y = y - y.mean(dim=0, keepdim=True)
    norm_x = torch.linalg.matrix_norm(x.T @ x)
    norm_y = torch.linalg.matrix_norm(y.T @ y)
    if norm_x == 0 or norm_y == 0:
        raise ValueError('linear_cka is undefined for features that are '
                         'constant over the samples (e.g. a dead ReLU '
                         'layer): check the model and its weights.')
    cross = torch.linalg.matrix_norm(y.T @ x)**2
    # Rounding can push identical sets a hair above 1.
    return float((cross / (norm_x * norm_y)).clamp(0.0, 1.0))
