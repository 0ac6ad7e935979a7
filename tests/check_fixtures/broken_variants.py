"""The broken variants of ``mynet.py``: each known mistake as edits of its source."""

from pathlib import Path

SOURCE = Path(__file__).with_name("mynet.py")

#: Mistake -> (the method it breaks, [(text in mynet.py, its replacement)], a word of its hint).
MISTAKES = {
    "sum vs mean": (
        "update_mini_batch",
        [("(eta / m) * s for", "(eta / m) * (s / m) for")],
        "averaged",
    ),
    "missing sigma prime": (
        "backprop",
        [("return (a - y) * sigmoid_prime(z)", "return a - y")],
        "lacks σ′(zᴸ)",
    ),
    "transposed weights": (
        "backprop",
        [("np.dot(self.weights[i].transpose(), delta)", "np.dot(self.weights[i], delta)")],
        "transpose",
    ),
    "off-by-one layer index": (
        "backprop",
        [("sigmoid_prime(zs[i - 1])", "sigmoid_prime(zs[i])")],
        "off by one",
    ),
    "wrong sign": (
        "backprop",
        [("return (a - y) * sigmoid_prime(z)", "return (y - a) * sigmoid_prime(z)")],
        "sign is wrong",
    ),
    "no division by batch size": (
        "update_mini_batch",
        [("(eta / m) * s for", "eta * s for")],
        "m times",
    ),
}


def broken_source(mistake: str) -> str:
    """mynet.py's source with ``mistake`` made."""
    text = SOURCE.read_text()
    for old, new in MISTAKES[mistake][1]:
        assert old in text, f"{old!r} is not in mynet.py"
        text = text.replace(old, new)
    return text
