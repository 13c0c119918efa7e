"""Training engine shared by every trainable baseline (``occbench train``)."""
