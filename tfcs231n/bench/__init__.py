"""`tfcs231n bench`: `runner` times TF and PyTorch side by side; one module per workload
(`caption`, `squeezenet`, `style`, `gan`) builds the same step in both frameworks."""
