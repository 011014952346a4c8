"""Parallel: several networks on the same input, trained side by side.

A small ensemble whose members differ in their batch normalization (one with
BN before the activation, one without) generalizes better than either
member, where members that differ only in their initial weights do not
(``docs/user_guide/tuning.md``). Each member is trained on its own loss, as
if alone, in the same mini-batches with one optimizer over all parameters;
the model predicts the average of the members' outputs.

In inference every member folds into a plain MLP (:func:`fold_batchnorm`),
and the average of plain MLPs of equal depth and activation is one plain MLP
with block-diagonal hidden weights (:func:`merge_members`): prediction,
export and ONNX need nothing new.
"""

import numpy as np

from sknorm.nn._layers import Linear
from sknorm.nn._network import Sequential

__all__ = ["Parallel", "merge_members", "split_merged"]


class Parallel(Sequential):
    """Member networks on one input: trained on their own losses, averaged.

    ``layers`` lists every member's layers, member after member, so that the
    parameter vector, snapshots and the optimizer cover all members as
    :class:`Sequential` does. :meth:`forward` returns the members' outputs
    side by side (each is trained on its own loss); :meth:`predict` returns
    their average, the model's output.

    Parameters
    ----------
    members : sequence of Sequential
        At least two networks with the same numbers of inputs and outputs.

    Attributes
    ----------
    members : list of Sequential
        The member networks.
    n_outputs : int
        Outputs of each member (and of :meth:`predict`).

    Examples
    --------
    >>> import numpy as np
    >>> from sknorm.nn._layout import build_mlp
    >>> from sknorm.nn._parallel import Parallel
    >>> rng = np.random.default_rng(0)
    >>> net = Parallel(
    ...     [
    ...         build_mlp(3, 1, hidden_layer_sizes=(4,), batch_norm=bn, rng=rng)
    ...         for bn in ("before", None)
    ...     ]
    ... )
    >>> x = rng.standard_normal((8, 3))
    >>> out, caches = net.forward(x, training=True)
    >>> out.shape, net.predict(x).shape
    ((8, 2), (8, 1))
    """

    def __init__(self, members):
        self.members = list(members)
        if len(self.members) < 2:
            raise ValueError(f"Parallel needs at least 2 members, got {len(members)}.")
        outputs = {_n_outputs(member) for member in self.members}
        if len(outputs) != 1:
            raise ValueError(f"Members must have one number of outputs, got {outputs}.")
        self.n_outputs = outputs.pop()
        super().__init__([layer for member in self.members for layer in member.layers])

    def forward(self, x, *, training, sample_weight=None):
        """Run every member; return their outputs side by side and the caches.

        Parameters
        ----------
        x : ndarray of shape (n_samples, n_features)
            Input batch, the same for every member.
        training : bool
            Mode of every layer (batch statistics and dropout when ``True``).
        sample_weight : array-like of shape (n_samples,) or None, default=None
            Passed to the BatchNorm1d layers only.

        Returns
        -------
        out : ndarray of shape (n_samples, n_members * n_outputs)
            Member ``m``'s output in columns ``m * n_outputs`` onwards.
        caches : list
            One cache list per member.
        """
        runs = [
            member.forward(x, training=training, sample_weight=sample_weight)
            for member in self.members
        ]
        return np.hstack([out for out, _ in runs]), [caches for _, caches in runs]

    def backward(self, dout, caches):
        """Backpropagate each member's block of ``dout`` through that member.

        Parameters
        ----------
        dout : ndarray of shape (n_samples, n_members * n_outputs)
            Gradient of the loss with respect to :meth:`forward`'s output.
        caches : list
            The caches returned by :meth:`forward`.

        Returns
        -------
        grads_list : list of dict
            One gradient dict per layer of ``layers``.
        """
        blocks = np.hsplit(dout, len(self.members))
        return [
            grads
            for member, block, member_caches in zip(
                self.members, blocks, caches, strict=True
            )
            for grads in member.backward(block, member_caches)
        ]

    def predict(self, x):
        """Return the average of the members' outputs, in inference mode.

        Parameters
        ----------
        x : ndarray of shape (n_samples, n_features)
            Input batch.

        Returns
        -------
        out : ndarray of shape (n_samples, n_outputs)
            The members' mean output. Nothing is written to the layers.
        """
        return sum(member.predict(x) for member in self.members) / len(self.members)

    def __repr__(self):
        return f"Parallel({self.members!r})"


def _n_outputs(network):
    return [layer for layer in network.layers if isinstance(layer, Linear)][-1].n_out


def merge_members(members):
    """Return the plain MLP that computes the average of plain ``members``.

    Parameters
    ----------
    members : list of Sequential
        Folded networks (``Linear``, activation, ..., ``Linear``) of the same
        depth and activations, without BatchNorm1d or Dropout.

    Returns
    -------
    Sequential
        Hidden Linears with block-diagonal weights (member after member),
        the output Linear stacking the members' weights divided by their
        number, its bias their average.

    Examples
    --------
    >>> import numpy as np
    >>> from sknorm.nn._layout import build_mlp
    >>> from sknorm.nn._parallel import merge_members
    >>> rng = np.random.default_rng(0)
    >>> a, b = (build_mlp(3, 2, hidden_layer_sizes=(4,), batch_norm=None, rng=rng)
    ...         for _ in range(2))
    >>> x = rng.standard_normal((5, 3))
    >>> merged = merge_members([a, b])
    >>> merged.layers[0].params["weight"].shape
    (3, 8)
    >>> bool(np.allclose(merged.predict(x), (a.predict(x) + b.predict(x)) / 2))
    True
    """
    layer_lists = [member.layers for member in members]
    if len({len(layers) for layers in layer_lists}) != 1:
        raise ValueError("Members to merge must have the same depth.")
    n_linears = sum(isinstance(layer, Linear) for layer in layer_lists[0])
    if n_linears < 2:
        raise ValueError("Members to merge need at least one hidden layer.")
    merged, seen = [], 0
    for layers in zip(*layer_lists, strict=True):
        if not isinstance(layers[0], Linear):
            if len({type(layer) for layer in layers}) != 1:
                raise ValueError("Members to merge must share their activations.")
            merged.append(layers[0])
            continue
        seen += 1
        weights = [layer.params["weight"] for layer in layers]
        biases = [_bias(layer) for layer in layers]
        if seen == n_linears:
            # The output Linear averages the members instead of stacking them.
            n = len(layers)
            merged.append(_linear(np.vstack(weights) / n, sum(biases) / n))
        else:
            weight = np.hstack(weights) if seen == 1 else _block_diag(weights)
            merged.append(_linear(weight, np.concatenate(biases)))
    return Sequential(merged)


def _block_diag(weights):
    rows = sum(w.shape[0] for w in weights)
    cols = sum(w.shape[1] for w in weights)
    out = np.zeros((rows, cols), dtype=weights[0].dtype)
    r = c = 0
    for w in weights:
        out[r : r + w.shape[0], c : c + w.shape[1]] = w
        r, c = r + w.shape[0], c + w.shape[1]
    return out


def _bias(linear):
    bias = linear.params.get("bias")
    if bias is None:
        return np.zeros(linear.n_out, dtype=linear.params["weight"].dtype)
    return bias


def _linear(weight, bias):
    linear = Linear(*weight.shape, bias=True, dtype=weight.dtype)
    linear.params["weight"][...] = weight
    linear.params["bias"][...] = bias
    return linear


def split_merged(coefs, intercepts, n_members):
    """Undo :func:`merge_members` on weight lists: one list pair per member.

    Parameters
    ----------
    coefs, intercepts : list of ndarray
        A merged plain MLP's weights and biases (block-diagonal hidden
        weights, as :func:`merge_members` makes).
    n_members : int
        Number of members.

    Returns
    -------
    list of (coefs, intercepts)
        Each member's weights; the output bias is given to every member
        whole, so that their average is the merged bias.

    Raises
    ------
    ValueError
        If a width is not divisible by ``n_members`` or a weight outside the
        diagonal blocks is not zero: such weights are no average of members.
    """
    members = [([], []) for _ in range(n_members)]
    last = len(coefs) - 1
    for i, (weight, bias) in enumerate(zip(coefs, intercepts, strict=True)):
        n_in, n_out = weight.shape
        in_step = n_in // n_members if i > 0 else 0
        out_step = n_out // n_members if i < last else 0
        if (i > 0 and n_in % n_members) or (i < last and n_out % n_members):
            raise ValueError(
                f"coefs_[{i}] has shape {weight.shape}, which does not split into "
                f"{n_members} equal members."
            )
        rest = np.array(weight, copy=True)
        for m, (member_coefs, member_intercepts) in enumerate(members):
            rows = slice(m * in_step, (m + 1) * in_step) if i > 0 else slice(None)
            cols = slice(m * out_step, (m + 1) * out_step) if i < last else slice(None)
            block = weight[rows, cols]
            member_coefs.append(block * n_members if i == last else block.copy())
            member_intercepts.append(bias[cols].copy())
            rest[rows, cols] = 0
        if np.any(rest):
            raise ValueError(
                f"coefs_[{i}] has non-zero weights between members: they cannot "
                f"be split into {n_members} averaged networks."
            )
    return members
