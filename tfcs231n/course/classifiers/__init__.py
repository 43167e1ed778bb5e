"""The course's `cs231n/classifiers`: `rnn.CaptioningRNN` and `squeezenet.SqueezeNet`."""
