"""The course's `cs231n` package, module for module, over tfcs231n's TensorFlow code.

A course notebook ports by changing ``cs231n`` to ``tfcs231n.course`` in its imports:
``from tfcs231n.course.rnn_layers import *``, ``from tfcs231n.course.classifiers.rnn import
CaptioningRNN``, ``from tfcs231n.course.gan_tf import *``, and so on. Names, signatures,
return values (caches, NumPy gradients, ``(loss, grads)``) and printed lines are the
course's; the math is tfcs231n's, written once in its native modules (`tfcs231n.captioning`,
`visualization`, `style`, `gan`, `data`), which keep their own, simpler returns. This
package is an adapter for teaching and checking, not the training path.

Offline, the course's data files are stood in for by tfcs231n's synthetic worlds (COCO
captions in the course's file layout, digits for MNIST); see each module.
"""
