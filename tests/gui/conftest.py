"""Qt set-up for the GUI tests: offscreen platform, one QApplication, known Qt warnings ignored."""

import os

# Must be set before pytest-qt creates the QApplication.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/gui/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.gui)


@pytest.fixture
def start_bridge():
    """Start SimulatedBridge instances on loopback; every one is stopped at teardown."""
    from app.core.simulator import SimulatedBridge

    started = []

    def start(scenario="healthy", token="gui-test-token"):
        bridge = SimulatedBridge(scenario, token=token).start()
        started.append(bridge)
        return bridge

    yield start
    for bridge in started:
        bridge.stop()
