"""A small deterministic world of coloured shapes, used when the real data sets are missing.

Every image shows 1-3 flat-coloured shapes on a lightly textured grey background. Each
object has an exact boolean pixel mask and a class (colour x shape), and each scene has
several templated English captions, so captioning, classification, saliency and
fine-tuning can all run offline. Everything is a pure function of the seed.

Coordinates are in pixels with the origin in the top-left corner: ``x`` grows to the
right (columns) and ``y`` grows downwards (rows). Image features and the course's COCO
file layout live in :mod:`tfcs231n.data.synthetic_coco`.

Example:
    >>> images, objects, masks = make_scenes(16, seed=0)
    >>> images.shape, describe_scene(objects[0], 64)[0]  # doctest: +SKIP
    ((16, 64, 64, 3), 'a large red circle left of a small blue square')
"""

import dataclasses

import numpy as np

# Far apart in RGB so a pixel's colour name is never in doubt, and far from the grey
# background so no background pixel can be mistaken for an object.
COLOURS = {
    "red": (220, 40, 40),
    "orange": (245, 140, 30),
    "yellow": (240, 215, 40),
    "green": (50, 170, 70),
    "blue": (40, 90, 220),
    "purple": (140, 60, 180),
}
SHAPES = ("circle", "square", "triangle", "diamond")
SIZES = ("small", "large")
CLASS_NAMES = tuple(f"{colour} {shape}" for colour in COLOURS for shape in SHAPES)

MIN_IMAGE_SIZE = 32
MAX_OBJECTS = 3  # three noun phrases are all a 15-word caption can hold
MAX_CAPTION_WORDS = 15

_RADIUS_FRACTION = {"small": 0.11, "large": 0.19}  # half-width of the shape's box / image size
_RADIUS_JITTER = 0.1  # radius varies by +-10 % within a size
_GAP_FRACTION = 0.03  # clear space between two objects' boxes
# Two objects must be clearly more apart along one axis than the other, so that
# "left of" versus "above" is never a coin toss.
_AXIS_MARGIN_FRACTION = 0.08

_SPECIAL_TOKENS = ("<NULL>", "<START>", "<END>", "<UNK>")
_TEMPLATE_WORDS = ("a", "an", "and", "of", "near", "the", "above", "below", "left",
                   "right", "top", "bottom", "centre")


@dataclasses.dataclass(frozen=True)
class SceneObject:
    """One shape in a scene.

    Attributes:
        shape: one of ``SHAPES``.
        colour: one of ``COLOURS``.
        size: ``"small"`` or ``"large"``.
        centre: ``(x, y)`` in pixels, x to the right, y downwards.
        radius: half the width (and height) of the shape's bounding box, in pixels.
    """

    shape: str
    colour: str
    size: str
    centre: tuple[float, float]
    radius: float

    def __post_init__(self):
        if self.shape not in SHAPES:
            raise ValueError(f"shape must be one of {SHAPES}, got {self.shape!r}")
        if self.colour not in COLOURS:
            raise ValueError(f"colour must be one of {tuple(COLOURS)}, got {self.colour!r}")
        if self.size not in SIZES:
            raise ValueError(f"size must be one of {SIZES}, got {self.size!r}")
        if not self.radius > 0:
            raise ValueError(f"radius must be > 0, got {self.radius}")

    @property
    def label(self) -> int:
        """Class index into ``CLASS_NAMES``."""
        return CLASS_NAMES.index(f"{self.colour} {self.shape}")


def _check_int(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def _check_image_size(image_size):
    _check_int("image_size", image_size, MIN_IMAGE_SIZE)


def _check_max_objects(max_objects):
    if (isinstance(max_objects, bool) or not isinstance(max_objects, (int, np.integer))
            or not 1 <= max_objects <= MAX_OBJECTS):
        raise ValueError(f"max_objects must be an integer in [1, {MAX_OBJECTS}], "
                         f"got {max_objects!r}")


def _random_object(rng, colour, image_size, shape=None):
    shape = SHAPES[rng.integers(len(SHAPES))] if shape is None else shape
    size = SIZES[rng.integers(len(SIZES))]
    radius = _RADIUS_FRACTION[size] * image_size * rng.uniform(1 - _RADIUS_JITTER,
                                                                1 + _RADIUS_JITTER)
    # Keep one clear pixel between the shape's box and the image border.
    x, y = rng.uniform(radius + 1, image_size - 2 - radius, size=2)
    return SceneObject(shape, colour, size, (float(x), float(y)), float(radius))


def _well_separated(a, b, image_size):
    dx = abs(a.centre[0] - b.centre[0])
    dy = abs(a.centre[1] - b.centre[1])
    reach = a.radius + b.radius + _GAP_FRACTION * image_size
    boxes_apart = dx >= reach or dy >= reach
    return boxes_apart and abs(dx - dy) >= _AXIS_MARGIN_FRACTION * image_size


def random_scene(rng, image_size=64, max_objects=3):
    """Draws 1 to ``max_objects`` non-overlapping objects of distinct colours.

    Colours are distinct within a scene so that a colour name identifies one object in a
    caption; shapes and sizes may repeat.

    Args:
        rng: a ``np.random.Generator``; it is advanced.
        image_size: side of the square image in pixels, at least 32.
        max_objects: 1 to 3.

    Returns:
        A tuple of ``SceneObject``.
    """
    _check_image_size(image_size)
    _check_max_objects(max_objects)
    count = int(rng.integers(1, max_objects + 1))
    names = list(COLOURS)
    colours = [names[i] for i in rng.choice(len(names), size=count, replace=False)]
    while True:  # a crowded draw is thrown away whole; this almost never repeats
        objects = []
        for colour in colours:
            for _ in range(50):
                candidate = _random_object(rng, colour, image_size)
                if all(_well_separated(candidate, other, image_size) for other in objects):
                    objects.append(candidate)
                    break
            else:
                break
        if len(objects) == count:
            return tuple(objects)


def object_mask(obj, image_size):
    """Boolean mask (image_size, image_size) of the pixels whose centre lies in ``obj``."""
    ys = np.arange(image_size, dtype=np.float32)[:, None]
    xs = np.arange(image_size, dtype=np.float32)[None, :]
    dx, dy, r = xs - obj.centre[0], ys - obj.centre[1], obj.radius
    if obj.shape == "circle":
        return dx * dx + dy * dy <= r * r
    if obj.shape == "square":
        return (np.abs(dx) <= r) & (np.abs(dy) <= r)
    if obj.shape == "diamond":
        return np.abs(dx) + np.abs(dy) <= r
    # Triangle pointing up: apex at the top of the box, base (2r wide) along its bottom.
    return (np.abs(dx) <= (dy + r) / 2) & (dy <= r)


def render(objects, image_size, rng=None):
    """Draws objects on a background.

    Args:
        objects: sequence of ``SceneObject`` that do not overlap.
        image_size: side of the square image in pixels, at least 32.
        rng: optional ``np.random.Generator`` for a textured background (random grey
            level, tint, vertical shading and pixel noise); ``None`` gives flat grey.

    Returns:
        image: uint8 (H, W, 3), H = W = image_size. Object pixels have exactly the
            object's RGB colour; background pixels never equal an object colour.
        masks: bool (K, H, W), one per object in the order given.
    """
    _check_image_size(image_size)
    if rng is None:
        image = np.full((image_size, image_size, 3), 215, np.uint8)
    else:
        level = rng.uniform(195, 235) + rng.uniform(-6, 6, size=3)  # (3,)
        shading = rng.uniform(-12, 12) * np.linspace(-0.5, 0.5, image_size)  # (H,)
        noise = rng.normal(0.0, 3.0, size=(image_size, image_size, 1)).astype(np.float32)
        image = level + shading[:, None, None] + noise  # (H, W, 3)
        image = np.clip(np.rint(image), 0, 255).astype(np.uint8)
    masks = np.zeros((len(objects), image_size, image_size), bool)
    for k, obj in enumerate(objects):
        masks[k] = object_mask(obj, image_size)
        image[masks[k]] = COLOURS[obj.colour]
    return image, masks


def make_scenes(n, seed, image_size=64, max_objects=3):
    """Renders ``n`` random scenes; same seed, same arrays.

    Returns:
        images: uint8 (N, H, W, 3).
        objects: list of N tuples of ``SceneObject``.
        masks: list of N bool arrays (K_i, H, W), aligned with ``objects``.
    """
    _check_int("n", n, 1)
    _check_int("seed", seed, 0)
    _check_image_size(image_size)
    _check_max_objects(max_objects)
    rng = np.random.default_rng(seed)
    images = np.empty((n, image_size, image_size, 3), np.uint8)
    objects, masks = [], []
    for i in range(n):
        scene = random_scene(rng, image_size, max_objects)
        images[i], scene_masks = render(scene, image_size, rng)
        objects.append(scene)
        masks.append(scene_masks)
    return images, objects, masks


def make_classification_set(n, seed, image_size=64):
    """One object per image, class = colour x shape, classes as balanced as ``n`` allows.

    Returns:
        images: uint8 (N, H, W, 3).
        labels: int64 (N,), indices into ``class_names``.
        masks: bool (N, H, W), the object's pixels (e.g. to score saliency maps).
        class_names: list of the 24 names such as ``"red circle"``.
    """
    _check_int("n", n, 1)
    _check_int("seed", seed, 0)
    _check_image_size(image_size)
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % len(CLASS_NAMES)).astype(np.int64)
    images = np.empty((n, image_size, image_size, 3), np.uint8)
    masks = np.empty((n, image_size, image_size), bool)
    for i, label in enumerate(labels):
        colour, shape = CLASS_NAMES[label].split()
        obj = _random_object(rng, colour, image_size, shape)
        images[i], object_masks = render([obj], image_size, rng)
        masks[i] = object_masks[0]
    return images, labels, masks, list(CLASS_NAMES)


def relation(subject, other):
    """Where ``subject`` is relative to ``other``: "left of", "right of", "above" or "below".

    The axis along which the centres are further apart decides.
    """
    dx = other.centre[0] - subject.centre[0]
    dy = other.centre[1] - subject.centre[1]
    if abs(dx) >= abs(dy):
        return "left of" if dx > 0 else "right of"
    return "above" if dy > 0 else "below"


def _region(obj, image_size):
    """Coarse 3 x 3 position such as "top left", "bottom" or "centre"."""
    column = min(int(3 * obj.centre[0] / image_size), 2)
    row = min(int(3 * obj.centre[1] / image_size), 2)
    words = [("top", "", "bottom")[row], ("left", "", "right")[column]]
    return " ".join(w for w in words if w) or "centre"


def describe_scene(objects, image_size):
    """Paraphrased reference captions for one scene, at most 15 words each.

    One object gives 2 captions, two objects 2 (each as the subject), three objects 3
    (each as the subject, related to the other two; only the subject gets a size, which
    keeps the caption within 15 words).

    Example:
        "a large red circle near the top left", "a large red circle left of a small blue
        square", "a small green triangle below a red circle and right of a blue square".
    """
    _check_image_size(image_size)
    if not 1 <= len(objects) <= MAX_OBJECTS:
        raise ValueError(f"objects must hold 1 to {MAX_OBJECTS} objects, got {len(objects)}")

    def noun(obj, with_size=True):
        words = f"{obj.size} {obj.colour} {obj.shape}" if with_size else \
            f"{obj.colour} {obj.shape}"
        return f"an {words}" if words[0] in "aeiou" else f"a {words}"

    if len(objects) == 1:
        (obj,) = objects
        return [noun(obj), f"{noun(obj)} near the {_region(obj, image_size)}"]
    if len(objects) == 2:
        a, b = objects
        return [f"{noun(a)} {relation(a, b)} {noun(b)}", f"{noun(b)} {relation(b, a)} {noun(a)}"]
    captions = []
    for i, subject in enumerate(objects):
        others = [obj for j, obj in enumerate(objects) if j != i]
        parts = [f"{relation(subject, other)} {noun(other, False)}" for other in others]
        captions.append(f"{noun(subject)} {' and '.join(parts)}")
    return captions


def build_vocab():
    """The fixed caption vocabulary in the course's convention.

    Returns:
        idx_to_word: list; '<NULL>' = 0, '<START>' = 1, '<END>' = 2, '<UNK>' = 3, then
            every caption word in sorted order.
        word_to_idx: dict, its inverse.
    """
    words = sorted(set(_TEMPLATE_WORDS) | set(COLOURS) | set(SHAPES) | set(SIZES))
    idx_to_word = list(_SPECIAL_TOKENS) + words
    return idx_to_word, {word: i for i, word in enumerate(idx_to_word)}


def encode_captions(captions, word_to_idx, max_length=17):
    """Turns captions into the course's padded token ids.

    Args:
        captions: sequence of N strings of space-separated lower-case words.
        word_to_idx: dict from ``build_vocab``; unknown words become '<UNK>'.
        max_length: tokens per row, including '<START>' and '<END>'.

    Returns:
        int32 (N, max_length): '<START>', the words, '<END>', then '<NULL>' padding.
    """
    _check_int("max_length", max_length, 3)
    encoded = np.full((len(captions), max_length), word_to_idx["<NULL>"], np.int32)
    for i, caption in enumerate(captions):
        words = caption.split()
        if len(words) + 2 > max_length:
            raise ValueError(f"captions[{i}] has {len(words)} words, more than "
                             f"max_length - 2 = {max_length - 2}: {caption!r}")
        ids = [word_to_idx.get(w, word_to_idx["<UNK>"]) for w in words]
        encoded[i, :len(ids) + 2] = [word_to_idx["<START>"], *ids, word_to_idx["<END>"]]
    return encoded
