"""Network visualization (the course's NetworkVisualization), in the order taught:

- `squeezenet`: SqueezeNet 1.1 in Keras, with the course's `extract_features`;
- `weights`: the course's TF checkpoints and downloads (`squeezenet` loads every format);
- `saliency`: saliency maps, fooling images, class visualization (the course's functions);
- `attribution`: SmoothGrad, Integrated Gradients, Grad-CAM;
- `sanity`: checks that an explanation depends on the model and the object;
- `synthetic_classifier`: the offline SqueezeNet trained on the synthetic world.
"""
