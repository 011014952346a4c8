"""Parallel: several networks on the same input, trained side by side.

A small ensemble whose members differ in their batch normalization (BN
before the activation, none, BN after it) generalizes better than any one
member, where members that differ only in their initial weights do not
(``docs/user_guide/tuning.md``). Each member is trained on its own loss, as
if alone, in the same mini-batches with one optimizer over all parameters;
the model predicts the average of the members' outputs.

In inference every member folds into a plain MLP (:func:`fold_batchnorm`),
and the average of plain MLPs of equal depth and activation is one plain MLP
with block-diagonal hidden weights
(:func:`~sknorm.nn._folding.merge_members`): prediction,
export and ONNX need nothing new.
"""

import numpy as np

from sknorm.nn._layers import Linear
from sknorm.nn._network import Sequential

__all__ = ["Parallel", "split_merged"]


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
        self._members = list(members)
        if len(self._members) < 2:
            raise ValueError(f"Parallel needs at least 2 members, got {len(members)}.")
        outputs = {_n_outputs(member) for member in self._members}
        if len(outputs) != 1:
            raise ValueError(f"Members must have one number of outputs, got {outputs}.")
        self.n_outputs = outputs.pop()
        super().__init__([layer for member in self._members for layer in member.layers])

    @property
    def members(self):
        """Return the member networks, in order."""
        return self._members

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


def split_merged(coefs, intercepts, n_members):
    """Undo :func:`~sknorm.nn._folding.merge_members` on weight lists.

    One list pair per member.

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
