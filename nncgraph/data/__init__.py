"""Datasets: Neural Network Console-format CSV loading and the bundled MNIST sample."""
