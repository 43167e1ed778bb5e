"""The captioning section of `tfcs231n demo`."""


def demo_section(out_dir, quick=True, seed=0):
    """The captioning part of `tfcs231n demo`: an LSTM trained on the synthetic world."""
    import numpy as np
    from PIL import Image

    from tfcs231n import plotting
    from tfcs231n.captioning import model as captioning
    from tfcs231n.demo import report
    from tfcs231n.captioning.solver import CaptioningSolver
    from tfcs231n.data import captioning_data, synthetic_captioning_dir

    out_dir.mkdir(parents=True, exist_ok=True)
    epochs = 6 if quick else 21  # BLEU-4 passes 0.5 after one epoch; 21 is the test's run
    data = captioning_data("synthetic")
    model = captioning.CaptioningRNN(data["word_to_idx"], input_dim=data["train_features"]
                                     .shape[1], wordvec_dim=128, hidden_dim=256,
                                     cell_type="lstm", seed=seed)
    history = CaptioningSolver(model, data, num_epochs=epochs, batch_size=100,
                               learning_rate=5e-3, lr_decay=0.9, seed=seed,
                               verbose=False).train()
    section = report.Section(
        "captioning", "Image captioning (LSTM)",
        f"An LSTM captioner (hidden 256, word vectors 128) trained for {epochs} epochs on "
        f"the synthetic world's {len(data['train_captions'])} training captions; captions "
        "of unseen validation images, greedy and with beam search (beam 3). 'exact' is the "
        "fraction of images whose caption equals one of its references word for word.")
    section.figure(plotting.plot_loss(history, out_dir / "loss.png", title="LSTM training "
                                      "loss", smooth=20), "training loss per minibatch")
    scores = {name: captioning.evaluate_bleu(model, data, "val", beam_size=b)
              for name, b in (("greedy", 1), ("beam 3", 3))}
    section.table("validation BLEU", ["decoding", "BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4",
                                      "exact", "images"],
                  [[k] + [round(s[f"bleu{n}"], 4) for n in range(1, 5)] +
                   [round(s["exact"], 4), s["n_images"]] for k, s in scores.items()])

    captions, features, urls, image_idxs = _first_val_images(data, SHOWCASE)
    refs = captioning.references_by_image(data["val_captions"], data["val_image_idxs"],
                                          data["idx_to_word"])
    base = synthetic_captioning_dir()
    images = [np.asarray(Image.open(base / u).convert("RGB")) for u in urls]
    truth = [" ".join(captioning.caption_words(c, data["idx_to_word"])) for c in captions]
    for name, beam in (("greedy", 1), ("beam", 3)):
        ids = model.sample(features, captions.shape[1] - 1, beam).numpy()
        words = [captioning.caption_words(c, data["idx_to_word"]) for c in ids]
        marked, right = mark_captions(words, [refs[i] for i in image_idxs])
        section.figure(plotting.caption_grid(images, marked, truth,
                                             out_dir / f"captions-{name}.png"),
                       f"{name} captions (bold; 'right' when word for word one of the "
                       f"image's references, else 'WRONG': {right} of {len(words)} right) above "
                       f"one reference caption (grey). {SHOWCASE_RULE}")
    section.metrics = {"final_loss": round(float(np.mean(history[-20:])), 4),
                       **{f"{k.replace(' ', '')}_bleu4": round(s["bleu4"], 4)
                          for k, s in scores.items()}}
    return section



SHOWCASE = 8
SHOWCASE_RULE = (f"Images: the first {SHOWCASE} distinct validation images in the split's "
                 "caption order, the same for every run and not chosen by result.")


def mark_captions(hypotheses, references):
    """Each caption (a word list) prefixed 'right: ' when it equals one of its image's
    references (word lists) word for word, else 'WRONG: '; and how many were right."""
    marked, right = [], 0
    for hyp, refs in zip(hypotheses, references):
        ok = list(hyp) in [list(r) for r in refs]
        right += ok
        marked.append(f"{'right' if ok else 'WRONG'}: {' '.join(hyp)}")
    return marked, right


def _first_val_images(data, n):
    """The first caption of each of the first `n` distinct validation images (in the order
    their captions come): captions, features, urls, image indices."""
    import numpy as np

    idxs = data["val_image_idxs"]
    _, first = np.unique(idxs, return_index=True)
    rows = np.sort(first)[:n]
    return (data["val_captions"][rows], data["val_features"][idxs[rows]],
            data["val_urls"][idxs[rows]], idxs[rows])
