"""Pictures a person would rather look at than read: loss curves and captioned image grids.

Every function writes a PNG and returns its path. Figures are made with Matplotlib's object
API, never pyplot, so the library works headless and never switches the backend under a
notebook's inline plots.
"""

import numpy as np

from tfcs231n._io import atomic_path


def subplots(nrows=1, ncols=1, figsize=None, **kwargs):
    """Like `pyplot.subplots`, but the figure belongs to no pyplot state: (fig, axes)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    return fig, fig.subplots(nrows, ncols, **kwargs)


def save_figure(fig, path):
    """Write `fig` as a PNG at `path` atomically (a reader never sees half a file): path."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, bbox_inches="tight")
    return path


def plot_loss(history, path, title="training loss", smooth=None):
    """Per-iteration losses with a moving average on top.

    Args:
        history: sequence of floats, one per iteration.
        smooth: window of the moving average (default: about 1/20 of the run).
    """
    history = np.asarray(history, np.float64)
    fig, ax = subplots(figsize=(6, 3.5))
    ax.plot(history, lw=0.8, alpha=0.5, label="per iteration")
    window = smooth or max(1, len(history) // 20)
    if window > 1 and len(history) > window:
        ax.plot(np.arange(window - 1, len(history)),
                np.convolve(history, np.ones(window) / window, "valid"), lw=2,
                label=f"mean of {window}")
    ax.set(xlabel="iteration", ylabel="loss", title=title)
    ax.legend()
    ax.grid(alpha=0.3)
    return save_figure(fig, path)


def caption_grid(images, generated, truth, path, cols=4):
    """Images (uint8 (H, W, 3) each) with generated (bold) and ground-truth captions."""
    import textwrap

    rows = -(-len(images) // cols)
    fig, axes = subplots(rows, cols, figsize=(3.2 * cols, 4.0 * rows), squeeze=False)
    fig.subplots_adjust(hspace=0.55)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, gen, tru in zip(axes.flat, images, generated, truth):
        ax.imshow(image, interpolation="nearest")
        ax.set_title(textwrap.fill(gen, 30), fontsize=8, fontweight="bold")
        ax.text(0.5, -0.04, textwrap.fill(tru, 34), transform=ax.transAxes, ha="center",
                va="top", fontsize=7, color="0.35")
    return save_figure(fig, path)


def image_rows(rows, path, size=2.6):
    """A grid of panels: `rows` is a list of rows, each a list of (image, title, cmap).

    Images are (H, W, 3) uint8/float in [0, 1], or (H, W) maps shown with `cmap`.
    """
    cols = max(len(r) for r in rows)
    fig, axes = subplots(len(rows), cols, figsize=(size * cols, size * len(rows) + 0.4),
                             squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for r, row in enumerate(rows):
        for c, (image, title, cmap) in enumerate(row):
            axes[r, c].imshow(image, cmap=cmap, interpolation="nearest")
            axes[r, c].set_title(title, fontsize=8)
    return save_figure(fig, path)


def plot_style_losses(history, path, title="style transfer"):
    """The content, style and TV losses per iteration on a log scale; returns `path`."""
    fig, ax = subplots(figsize=(6, 3.5))
    for key in ("total", "content", "style", "tv"):
        values = np.asarray(history[key], np.float64)
        if (values > 0).any():  # zeros (the content loss at a content start) are left out
            ax.plot(np.where(values > 0, values, np.nan), lw=2 if key == "total" else 1.2,
                    label=key)
    ax.set(xlabel="iteration", ylabel="weighted loss", yscale="log", title=title)
    ax.legend()
    ax.grid(alpha=0.3)
    return save_figure(fig, path)


def heat(saliency_map):
    """A map scaled to [0, 1] by its maximum (left as is when that is 0), for a heat image."""
    m = np.asarray(saliency_map, np.float64)
    return m / m.max() if m.max() > 0 else m
