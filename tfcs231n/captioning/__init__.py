"""Image captioning (the course's RNN_Captioning and LSTM_Captioning), in the order taught:

- `ops`: the functional RNN/LSTM ops (`rnn_step`, `lstm`, `word_embedding`,
  `temporal_cross_entropy`, ...), the math written once;
- `layers`: Keras cells and sequence layers that call them;
- `model`: `CaptioningRNN`, greedy and beam-search sampling, export;
- `solver`: `CaptioningSolver`, the training loop with atomic checkpoints;
- `bleu`: corpus BLEU and exact match for evaluation.
"""
