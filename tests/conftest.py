import os

# Set before TensorFlow is imported by any test module: keep its start-up chatter out of
# the test log.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
