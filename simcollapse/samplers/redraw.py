"""Rejection sampling over a whole batch: each element draws candidates until one is accepted.

A sampler gives ``candidate(hi, lo, index, tries, *params) -> (accepted, value)``, elementwise: the candidate
number `tries` of the element with key words (hi, lo) and counter index `index`; an accepted value is never NaN.
The first accepted candidate of an element's i.i.d. sequence is its draw, so the law is the target law exactly,
and an element's draw depends only on its own key, index and parameters: the same alone or among 10⁶, in any
chunking.

Every element draws its first candidate in one fused elementwise pass (or, for samplers whose draws only some
elements need, in the passes below, which gather those from the start). Then, in pass t, every element still
pending draws its candidate t: passes over the whole array while more than a quarter are pending, then over the
pending ones alone, gathered into an array a quarter the size. A ratio-of-uniforms sampler rejects ≈ 27 %, so
its later passes cost a quarter of a pass each. Deeper levels cut the work further but copy the candidate into
the program once more each: the count families compiled in 5–7 s at five levels, 2–3 s at one. The loops
carry only the values (NaN while pending): XLA fuses an elementwise producer into each of its users, so a
separate pending mask would compute every candidate twice. Under ``vmap`` (the driver's chain axis) a batching
rule (``jax.custom_batching``) flattens the batch into the elements, so one loop serves all chains.

:func:`on_active` applies the same gathering to any elementwise draw that only some elements need (the count
samplers' inversion search, which loops to the batch's largest count): it runs on those alone when they are
a quarter of the batch or fewer, and not at all when there are none.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from . import bits

_SMALLEST = 256  # below this many elements a level just passes over all of them
_LEVELS = 1  # gathered levels below the whole array: each one more copies the candidate into the program


def prefix_count(mask):
    """Inclusive running count of the True entries of a 1-d mask: within rows of 64 by six shifted sums (fused,
    vectorised), then the rows' offsets; about twice as fast as ``jnp.cumsum`` on CPU."""
    size = mask.shape[0]
    x = jnp.pad(mask.astype(jnp.int32), (0, -size % 64)).reshape(-1, 64)
    for shift in (1, 2, 4, 8, 16, 32):
        x = x + jnp.pad(x[:, :-shift], ((0, 0), (shift, 0)))
    row_totals = x[:, -1]
    return (x + (jnp.cumsum(row_totals) - row_totals)[:, None]).reshape(-1)[:size]


def _slots(mask, block: int):
    """Where the True entries of a 1-d `mask` go in a block of `block` positions, in order: `at`, the entry
    each position holds (mask.size at a filler position), and `slot`, each entry's position (−1 before the
    first True entry; entries beyond the block are dropped)."""
    size = mask.shape[0]
    slot = prefix_count(mask) - 1
    at = jnp.full(block, size, jnp.int32).at[jnp.where(mask, slot, block)].set(
        jnp.arange(size, dtype=jnp.int32), mode="drop")
    return at, slot


def candidate_words(hi, lo, index, tries, count=2):
    """The `count` uint64 words of element `index`'s candidate number `tries`: counters
    (1 + tries, count·index + j), j < count, under the key (hi, lo); round 0 is left to the sampler's other
    draws. A flat batch of n elements needs count·n < 2³²."""
    key = bits.Key(hi, lo)
    return tuple(bits.words_at(key, count * index + j, 1 + tries) for j in range(count))


def _pass(candidate, out, tries, fixed):
    """Every pending (NaN) element draws its candidate number `tries`."""
    ok, value = candidate(*fixed[:3], tries, *fixed[3:])
    return jnp.where(jnp.isnan(out), jnp.where(ok, value, jnp.nan), out), tries + 1


def _resolve(candidate, out, tries, fixed, levels=_LEVELS):
    """`out` with its pending (NaN) elements accepted, passing over all of them while more than a quarter are
    pending, then over the pending ones alone, gathered into a quarter-size array (`levels` deep)."""
    size = out.shape[0]
    block = size // 4
    if levels == 0 or size < _SMALLEST:
        return jax.lax.while_loop(lambda c: jnp.any(jnp.isnan(c[0])),
                                  lambda c: _pass(candidate, *c, fixed), (out, tries))
    out, tries = jax.lax.while_loop(lambda c: jnp.sum(jnp.isnan(c[0])) > block,
                                    lambda c: _pass(candidate, *c, fixed), (out, tries))

    def gathered(out, tries):
        pending = jnp.isnan(out)
        at, slot = _slots(pending, block)
        inner = jnp.where(at < size, jnp.nan, 0.0)  # fill positions are never pending
        inner, tries = _resolve(candidate, inner, tries, [x[jnp.minimum(at, size - 1)] for x in fixed], levels - 1)
        return jnp.where(pending, inner[jnp.clip(slot, 0, block - 1)], out), tries

    return jax.lax.cond(jnp.any(jnp.isnan(out)), gathered, lambda *c: c, out, tries)


def _until_accepted(candidate: Callable, first_pass: bool, hi, lo, index, todo, *params):
    """The accepted value of every `todo` element of flat arrays (0 elsewhere)."""
    fixed = (hi, lo, index, *params)
    out, tries = jnp.where(todo, jnp.nan, 0.0), jnp.uint32(0)
    if first_pass:
        out, tries = _pass(candidate, out, tries, fixed)
    return _resolve(candidate, out, tries, fixed)[0]


def whole_batch(f: Callable) -> Callable:
    """`f`, elementwise over arrays of one shape, with a batching rule (``jax.custom_batching``) that treats a
    vmapped batch as more elements of one call: a loop or branch on "any element" inside `f` then stays one loop
    or branch over the whole batch, where plain vmap would run it per chain or turn it into a select."""
    f = jax.custom_batching.custom_vmap(f)

    @f.def_vmap
    def batch(axis_size, in_batched, *args):
        args = [a if batched else jnp.broadcast_to(a, (axis_size, *jnp.shape(a)))
                for a, batched in zip(args, in_batched, strict=True)]
        shape = jnp.broadcast_shapes(*(a.shape for a in args))
        return f(*(jnp.broadcast_to(a, shape) for a in args)), True  # nested vmaps flatten alike

    return f


def rejection(candidate: Callable, first_pass: bool = True) -> Callable:
    """``draw(hi, lo, index, todo, *params)``: the accepted value of each `todo` element (0 elsewhere), for
    arrays of one shape; elements not `todo` must hold parameters under which `candidate` is harmless. Under
    vmap the redraws of every chain share one loop (`whole_batch`). Without `first_pass` the first candidates
    are drawn by the same passes as the later ones, so that a batch in which a quarter or fewer of the
    elements are `todo` draws them gathered from the start."""

    def elements(hi, lo, index, todo, *params):
        shape = todo.shape
        flat = (jnp.ravel(x) for x in (hi, lo, index, todo, *params))
        return _until_accepted(candidate, first_pass, *flat).reshape(shape)

    return whole_batch(elements)


def on_active(f: Callable) -> Callable:
    """``g(active, *args)``: ``f(active, *args)`` at the `active` elements and 0 elsewhere, for float64 values
    and flat arguments of one shape, with `f` computed on the active elements alone when they are few.

    No element active: `f` is not run. At most a quarter of them active: they are gathered, in order, into
    a block that size (filler positions inactive) and `f` runs on the block. Otherwise `f` runs on all of
    them. `f` must be elementwise (an element's value depends only on its own entries) and harmless on
    inactive elements, so every element gets the same value on each path. Under vmap the batch is one set of
    elements (`whole_batch`)."""

    def every(active, *args):
        return jnp.where(active, f(active, *args), 0.0)

    def none(active, *args):
        return jnp.zeros(active.shape, jnp.float64)

    def elements(active, *args):
        shape = active.shape
        active, args = jnp.ravel(active), [jnp.ravel(a) for a in args]
        size = active.shape[0]
        block = size // 4
        if block < _SMALLEST:
            return jax.lax.cond(jnp.any(active), every, none, active, *args).reshape(shape)

        def few(active, *args):
            at, slot = _slots(active, block)
            take = jnp.minimum(at, size - 1)
            inner = f(active[take] & (at < size), *(a[take] for a in args))
            return jnp.where(active, inner[jnp.clip(slot, 0, block - 1)], 0.0)

        count = jnp.sum(active)
        branch = jnp.where(count == 0, 0, jnp.where(count <= block, 1, 2))
        return jax.lax.switch(branch, (none, few, every), active, *args).reshape(shape)

    return whole_batch(elements)
