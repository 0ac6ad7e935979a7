"""``digitnet serve`` end to end in a real headless Chromium: a model trained on MNIST, the served
page, and digits drawn on its canvas with real pointer input (a mouse, and a finger)."""

from __future__ import annotations

import itertools
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import read_url

import digitnet

pytest.importorskip("flask")
pytest.importorskip("waitress")
pytest.importorskip("PIL")
webdriver = pytest.importorskip("selenium.webdriver")

from selenium.common.exceptions import TimeoutException  # noqa: E402 -- optional, checked above
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.actions import interaction  # noqa: E402
from selenium.webdriver.common.actions.action_builder import ActionBuilder  # noqa: E402
from selenium.webdriver.common.actions.pointer_input import PointerInput  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


def _find(*names: str) -> str | None:
    for name in names:
        found = shutil.which(name) or (name if Path(name).is_file() else None)
        if found:
            return found
    return None


CHROMIUM = _find("chromium", "/usr/bin/chromium", "chromium-browser", "google-chrome")
CHROMEDRIVER = _find("chromedriver", "/usr/bin/chromedriver")
if CHROMIUM is None or CHROMEDRIVER is None:
    pytest.skip(
        "needs Chromium and its driver (Debian: apt-get install chromium chromium-driver)",
        allow_module_level=True,
    )

#: Where the page's screenshot goes: the README's picture when DIGITNET_SCREENSHOT_DIR names
#: docs/images, else only the test's temporary directory (tests never write to the source tree).
SCREENSHOT_DIR = os.environ.get("DIGITNET_SCREENSHOT_DIR")
SERVE = (  # Ctrl-C stops it even if started where SIGINT is ignored (a background job)
    "import signal, sys\n"
    "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
    "from digitnet.cli import main\n"
    "sys.exit(main(['serve', *sys.argv[1:]]))\n"
)
#: Milliseconds each pointer move takes (Selenium's default, 250, makes a stroke take seconds).
MOVE_MS = 15

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def model(mnist_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A [784, 30, 10] network trained for 5 epochs on real MNIST (about 93%), saved."""
    from digitnet.datasets import mnist

    splits = mnist.load_arrays(mnist_dir)
    net = digitnet.Network([784, 30, 10], seed=1)
    net.SGD(splits.train, 5, 10, 3.0, verbose=False)
    path = tmp_path_factory.mktemp("model") / "model.json"
    net.save(path)
    return path


@pytest.fixture(scope="module")
def server(model: Path) -> Iterator[str]:
    """``digitnet serve MODEL --port 0`` in a subprocess; its URL. Stopped with Ctrl-C, which
    must end it cleanly."""
    process = subprocess.Popen(
        [sys.executable, "-u", "-c", SERVE, str(model), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield read_url(process)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        try:
            out, err = process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise
    assert process.returncode == 0, err
    assert "Stopped." in out
    assert "Traceback" not in err


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium driven by chromedriver; quit afterwards."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",  # as root, or in a container
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1000,800",
        "--force-device-scale-factor=1",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=CHROMEDRIVER, log_output=subprocess.DEVNULL)
    driver = webdriver.Chrome(options=options, service=service)
    try:
        yield driver
    finally:
        driver.quit()


def _state(driver: Any) -> str:
    return str(driver.find_element(By.TAG_NAME, "body").get_attribute("data-state"))


def _reading(driver: Any, timeout: float = 15) -> tuple[str, list[float]]:
    """Waits for the page to show the reading of the current drawing; the digit and the bars."""
    try:
        WebDriverWait(driver, timeout).until(lambda d: _state(d) in ("ready", "error"))
    except TimeoutException:
        raise AssertionError(f"no reading after {timeout} s; state {_state(driver)}") from None
    assert _state(driver) == "ready", driver.find_element(By.ID, "status").text
    bars = driver.find_elements(By.CSS_SELECTOR, "#bars li")
    probabilities = [float(bar.get_attribute("data-probability")) for bar in bars]
    return driver.find_element(By.ID, "digit").text, probabilities


def _mouse_stroke(driver: Any, pad: Any, points: list[tuple[int, int]]) -> None:
    """Presses the mouse at the first point (pixels from the pad's centre), moves through the
    others, and releases."""
    actions = ActionChains(driver, duration=MOVE_MS)
    actions.move_to_element_with_offset(pad, *points[0]).click_and_hold()
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        actions.move_by_offset(x1 - x0, y1 - y0)
    actions.release().perform()


def _finger_stroke(driver: Any, pad: Any, points: list[tuple[int, int]]) -> None:
    """The same stroke drawn with a finger: touch pointer events."""
    finger = PointerInput(interaction.POINTER_TOUCH, "finger")
    actions = ActionBuilder(driver, mouse=finger, duration=MOVE_MS)
    actions.pointer_action.move_to(pad, *points[0]).pointer_down()
    for x, y in points[1:]:
        actions.pointer_action.move_to(pad, x, y)
    actions.pointer_action.pointer_up()
    actions.perform()


def _one() -> list[tuple[int, int]]:
    """A "1": one vertical stroke, top to bottom, 180 pixels long."""
    return [(0, y) for y in range(-90, 91, 10)]


def _zero() -> list[tuple[int, int]]:
    """A "0": a tall loop, drawn anticlockwise from the top and closed with a small overlap."""
    steps = 40
    return [
        (
            round(-55 * math.sin(2 * math.pi * k / steps)),
            round(-85 * math.cos(2 * math.pi * k / steps)),
        )
        for k in range(steps + 3)
    ]


def test_drawing_a_one_and_a_zero_shows_them_live(
    server: str, browser: Any, tmp_path: Path
) -> None:
    started = time.monotonic()
    browser.get(server)
    assert browser.title == "digitnet · draw a digit"
    assert _state(browser) == "empty"
    assert browser.find_element(By.ID, "digit").text == "?"
    assert len(browser.find_elements(By.CSS_SELECTOR, "#bars li")) == 10
    pad = browser.find_element(By.ID, "pad")

    _mouse_stroke(browser, pad, _one())
    digit, probabilities = _reading(browser)
    assert digit == "1", f"read a 1 as {digit}: {probabilities}"
    assert max(probabilities) == probabilities[1]
    assert sum(probabilities) == pytest.approx(1.0, abs=1e-6)
    top = browser.find_element(By.CSS_SELECTOR, "#bars li.top")
    assert top.get_attribute("data-digit") == "1"

    browser.find_element(By.ID, "clear").click()
    WebDriverWait(browser, 5).until(lambda d: _state(d) == "empty")
    assert browser.find_element(By.ID, "digit").text == "?"

    _finger_stroke(browser, pad, _zero())
    digit, probabilities = _reading(browser)
    assert digit == "0", f"read a 0 as {digit}: {probabilities}"

    shots = Path(SCREENSHOT_DIR) if SCREENSHOT_DIR else tmp_path
    shots.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(shots / "serve.png"))

    # Undo takes the loop away again; the page raised no error in the console on the way.
    browser.find_element(By.ID, "undo").click()
    WebDriverWait(browser, 5).until(lambda d: _state(d) == "empty")
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []
    print(f"\nbrowser test: {time.monotonic() - started:.1f} s in the page")


def test_the_reading_follows_the_drawing_while_it_is_drawn(server: str, browser: Any) -> None:
    """A stroke held down, unfinished, is already read: the requests go out while drawing."""
    browser.get(server)
    pad = browser.find_element(By.ID, "pad")
    actions = ActionChains(browser, duration=MOVE_MS)
    actions.move_to_element_with_offset(pad, 0, -90).click_and_hold()
    for _ in range(18):
        actions.move_by_offset(0, 10)
    actions.perform()  # the button is still down
    try:
        digit, _ = _reading(browser)
        assert digit == "1"
    finally:
        ActionChains(browser).release().perform()
