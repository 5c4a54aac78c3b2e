"""The first-run page, shown in the window while no bridge is configured."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.gui.icons import app_icon

__all__ = ["FirstRunPage"]

TEXT_WIDTH = 520  # pixels: about 80 characters, a comfortable line length


def _fix_wrapped_height(label: QLabel, width: int) -> None:
    """Give a word-wrapped label a fixed width and the height its text needs at that width.

    Layouts size a window from minimum sizes, which ignore a wrapped label's height for a
    given width, so in a short window the text would be cut off instead.
    """
    label.setFixedWidth(width)
    label.setMinimumHeight(label.heightForWidth(width))


class FirstRunPage(QWidget):
    """Welcome text with "Add your first bridge", "Try the demo" and "Import a bridge list"."""

    add_requested = Signal()
    demo_requested = Signal()
    import_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("firstRun")

        icon = QLabel()
        icon.setPixmap(app_icon().pixmap(48, 48))
        icon.setAlignment(Qt.AlignmentFlag.AlignCenter)
        icon.setAccessibleName("Bridgewatch logo")

        title = QLabel("Welcome to Bridgewatch")
        title_font = QFont(self.font())
        title_font.setPointSizeF(title_font.pointSizeF() * 1.6)
        title_font.setBold(True)
        title.setFont(title_font)
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)

        self.intro = QLabel(
            "Bridgewatch checks your 1Password SCIM bridges and tells you when one fails. "
            "Add a bridge with its address and, ideally, its health-check-only token: the token "
            "is stored in your system's keychain, never in a file."
        )
        self.intro.setWordWrap(True)
        self.intro.setAlignment(Qt.AlignmentFlag.AlignCenter)
        _fix_wrapped_height(self.intro, TEXT_WIDTH)

        self.add_button = QPushButton("Add your first bridge…")
        self.add_button.setAccessibleName("Add your first bridge")
        self.add_button.setDefault(True)
        self.add_button.setAutoDefault(True)
        self.add_button.clicked.connect(self.add_requested)

        self.demo_button = QPushButton("Try the demo")
        self.demo_button.setAccessibleName("Try the demo with three simulated bridges")
        self.demo_button.setToolTip("Three simulated bridges on this computer; nothing is written to your config")
        self.demo_button.clicked.connect(self.demo_requested)

        self.import_button = QPushButton("Import a bridge list…")
        self.import_button.setAccessibleName("Import a bridge list from a file")
        self.import_button.clicked.connect(self.import_requested)

        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for button in (self.add_button, self.demo_button, self.import_button):
            button.setMinimumHeight(34)
            buttons.addWidget(button)
        buttons.addStretch(1)

        self.demo_note = QLabel(
            "The demo opens a second window with three simulated bridges; it writes nothing to your config."
        )
        self.demo_note.setWordWrap(True)
        self.demo_note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.demo_note.setStyleSheet("color: palette(placeholder-text);")
        _fix_wrapped_height(self.demo_note, TEXT_WIDTH)
        self.terminal_note = QLabel("From a terminal: bridgewatch add NAME URL")
        self.terminal_note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.terminal_note.setStyleSheet("color: palette(placeholder-text);")
        self.terminal_note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(icon)
        layout.addWidget(title)
        layout.addSpacing(4)
        layout.addWidget(self.intro, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addSpacing(12)
        layout.addLayout(buttons)
        layout.addSpacing(4)
        layout.addWidget(self.demo_note, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(self.terminal_note, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(2)

        self.setTabOrder(self.add_button, self.demo_button)
        self.setTabOrder(self.demo_button, self.import_button)

    def text(self) -> str:
        """Return the page's text, as a screen reader would read it (for tests)."""
        labels = (self.intro, self.demo_note, self.terminal_note)
        buttons = (self.add_button, self.demo_button, self.import_button)
        return "\n".join([label.text() for label in labels] + [button.text() for button in buttons])
