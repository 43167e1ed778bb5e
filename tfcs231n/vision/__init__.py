"""d2l's computer-vision chapter and the convnet exercise:

- `augment`: torchvision's augmentation rules as stateless, seeded Keras layers;
- `resnet`: torchvision's ResNet-18 in Keras;
- `finetune`: fine-tuning, feature extraction and the augmentation experiment.
"""
