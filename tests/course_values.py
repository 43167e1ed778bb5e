"""The course's published values now live in the package (the grader uses them too)."""

from tfcs231n.parity.course_values import *  # noqa: F401,F403
from tfcs231n.parity.course_values import _CAPTIONS  # noqa: F401
