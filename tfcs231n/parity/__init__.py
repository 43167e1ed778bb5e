"""Cross-framework parity: `engine` compares a TF function with the reference on outputs and
gradients; `cases` registers every module's comparisons (what `tfcs231n parity` runs)."""
