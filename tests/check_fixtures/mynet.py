"""A student's network, written for digitnet's tests in network.py's style (columns, lists of
``(x, y)`` tuples), with network2.py's ``cost=`` and ``lmbda``: correct, so it must pass the
check; the tests derive the broken variants from it by editing one line."""

import itertools

import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_prime(z):
    s = sigmoid(z)
    return s * (1 - s)


class QuadraticCost:
    @staticmethod
    def delta(z, a, y):
        return (a - y) * sigmoid_prime(z)


class CrossEntropyCost:
    @staticmethod
    def delta(z, a, y):
        return a - y


class Network:
    def __init__(self, sizes, cost=QuadraticCost):
        self.sizes = list(sizes)
        self.num_layers = len(sizes)
        self.cost = cost
        rng = np.random.default_rng(0)
        self.biases = [rng.standard_normal((n, 1)) for n in sizes[1:]]
        self.weights = [rng.standard_normal((n, m)) for m, n in itertools.pairwise(sizes)]

    def feedforward(self, a):
        for w, b in zip(self.weights, self.biases, strict=True):
            a = sigmoid(np.dot(w, a) + b)
        return a

    def backprop(self, x, y):
        # Forward, keeping every weighted input and activation.
        zs, activations = [], [x]
        for w, b in zip(self.weights, self.biases, strict=True):
            zs.append(np.dot(w, activations[-1]) + b)
            activations.append(sigmoid(zs[-1]))
        layers = len(self.weights)
        grad_b = [None] * layers
        grad_w = [None] * layers
        delta = self.cost.delta(zs[-1], activations[-1], y)
        for i in reversed(range(layers)):
            grad_b[i] = delta
            grad_w[i] = np.dot(delta, activations[i].transpose())
            if i > 0:
                delta = np.dot(self.weights[i].transpose(), delta) * sigmoid_prime(zs[i - 1])
        return grad_b, grad_w

    def update_mini_batch(self, mini_batch, eta, lmbda=0.0, n=1):
        sum_b = [np.zeros(b.shape) for b in self.biases]
        sum_w = [np.zeros(w.shape) for w in self.weights]
        for x, y in mini_batch:
            grad_b, grad_w = self.backprop(x, y)
            sum_b = [s + g for s, g in zip(sum_b, grad_b, strict=True)]
            sum_w = [s + g for s, g in zip(sum_w, grad_w, strict=True)]
        m = len(mini_batch)
        decay = 1 - eta * lmbda / n
        self.weights = [decay * w - (eta / m) * s for w, s in zip(self.weights, sum_w, strict=True)]
        self.biases = [b - (eta / m) * s for b, s in zip(self.biases, sum_b, strict=True)]

    def evaluate(self, test_data):
        return sum(int(np.argmax(self.feedforward(x)) == y) for x, y in test_data)

    def cost_derivative(self, output_activations, y):
        return output_activations - y
