"""The Add bridge and Edit bridge dialog, with "Test connection" running in the background."""

from __future__ import annotations

import asyncio
import logging
import ssl
import threading
from typing import Callable

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.core.bridges import BridgeForm, BridgeInputError, BridgeManager, TokenChange, TokenState
from app.core.config import DEFAULT_INTERVAL, MAX_INTERVAL, MIN_INTERVAL, BridgeConfig, ConfigError
from app.core.diagnosis import Diagnosis, diagnose
from app.core.model import BridgeStatus, ProbeKind
from app.core.probe import DEFAULT_TIMEOUT
from app.core.tokens import TokenUnavailable
from app.core.urls import BridgeUrlError, normalize_bridge_url
from app.gui.icons import status_icon

__all__ = ["BridgeDialog", "DiagnosisRunner"]

log = logging.getLogger(__name__)

_ERROR_STYLE = "color: #b71c1c;"
_WARNING_STYLE = "color: #8a4b00;"
_NOTE_STYLE = "color: palette(placeholder-text);"

_PROBE_CHOICES = (
    (
        ProbeKind.MONITORING,
        "Health-check-only token (recommended)",
        "Probes /monitoring. This token can read the bridge's health and nothing else.",
    ),
    (
        ProbeKind.HEALTH,
        "Bearer token",
        "Probes /health. It can also provision users: prefer the health-check-only token.",
    ),
    (
        ProbeKind.PING,
        "No token",
        "Probes /ping only: shows whether the bridge answers, not its components.",
    ),
)


_WRAPPED_ROWS = ("TLS", "Next step", "/ping")
_VALUE_WIDTH = 460  # pixels for a wrapped diagnosis value: the dialog's 640 minus the label column


class DiagnosisRunner(QObject):
    """Run one connection test on its own thread and asyncio loop; the GUI thread never waits.

    `finished` carries the Diagnosis, or None when the test was cancelled.
    """

    finished = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(
        self,
        url: str,
        probe: ProbeKind,
        *,
        allow_http: bool,
        token_source: Callable[[], str | None],
        timeout: float = DEFAULT_TIMEOUT,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        """Start a test. `token_source` runs on the test thread, so a keychain prompt cannot block the GUI."""
        if self.running:
            raise RuntimeError("a connection test is already running")

        async def run() -> Diagnosis:
            token, token_error = None, None
            if probe.needs_token:
                try:
                    token = await asyncio.to_thread(token_source)
                except TokenUnavailable as exc:
                    token_error = str(exc)
            return await diagnose(
                url, probe, token, allow_http=allow_http, timeout=timeout, ssl_context=ssl_context,
                token_error=token_error,
            )

        def work() -> None:
            loop = asyncio.new_event_loop()
            outcome: Diagnosis | None = None
            try:
                with self._lock:
                    self._loop = loop
                    self._task = loop.create_task(run())
                outcome = loop.run_until_complete(self._task)
            except asyncio.CancelledError:
                outcome = None
            except Exception:  # a bug here must end in a message, not a dialog stuck on "Testing"
                log.exception("The connection test failed unexpectedly")
                outcome = None
            finally:
                with self._lock:
                    self._loop, self._task = None, None
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()
            try:
                self.finished.emit(outcome)
            except RuntimeError:  # the dialog, and this runner with it, was deleted meanwhile
                log.info("A connection test ended after its dialog closed")

        self._thread = threading.Thread(target=work, name="bridgewatch-connection-test", daemon=True)
        self._thread.start()

    def cancel(self) -> None:
        """Cancel the running test; `finished` then carries None. Returns at once."""
        with self._lock:
            if self._loop is not None and self._task is not None and not self._loop.is_closed():
                self._loop.call_soon_threadsafe(self._task.cancel)

    def wait(self, timeout: float) -> bool:
        """Join the test thread (for tests and shutdown); return True when it ended."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()


class DiagnosisView(QGroupBox):
    """The outcome of a connection test as a status line and labelled rows of selectable text."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Connection test", parent)
        self.setAccessibleName("Connection test result")
        layout = QVBoxLayout(self)

        header = QHBoxLayout()
        self.icon = QLabel()
        self.icon.setFixedSize(24, 24)
        self.headline = QLabel("Not tested yet. Test connection checks the address, TLS, the token and the report.")
        self.headline.setWordWrap(True)
        self.headline.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)  # busy indicator
        self.progress.setMaximumWidth(120)
        self.progress.setTextVisible(False)
        self.progress.setAccessibleName("Test in progress")
        self.progress.hide()
        header.addWidget(self.icon)
        header.addWidget(self.headline, 1)
        header.addWidget(self.progress)
        layout.addLayout(header)

        self.rows = QFormLayout()
        self.rows.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.rows.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        layout.addLayout(self.rows)
        self.diagnosis: Diagnosis | None = None

    def show_running(self) -> None:
        self._clear_rows()
        self.icon.clear()
        self.headline.setText("Testing the connection… (at most 10 s; Cancel test stops it)")
        self.progress.show()

    def show_cancelled(self) -> None:
        self.progress.hide()
        self.icon.clear()
        self.headline.setText("Test cancelled.")

    def show_diagnosis(self, diagnosis: Diagnosis) -> None:
        self.diagnosis = diagnosis
        self.progress.hide()
        self._clear_rows()
        self.icon.setPixmap(status_icon(diagnosis.status).pixmap(24, 24))
        self.icon.setToolTip(diagnosis.status.label)
        headline = "The bridge works." if diagnosis.ok else f"{diagnosis.status.label}: {diagnosis.result.summary}"
        if diagnosis.status is BridgeStatus.UNKNOWN and not diagnosis.request_sent:
            headline = f"Not tested: {diagnosis.result.summary}"
        self.headline.setText(headline)
        for label, text in diagnosis.rows():
            if label == "Result":
                continue  # already in the headline
            value = QLabel(text)
            # Rows of one item a line (components, URL notes) keep their lines; prose wraps.
            if label in _WRAPPED_ROWS:
                # WORKAROUND: a QFormLayout in a group box underestimates the height of a
                # word-wrapped label, which then overlaps the next row. A fixed minimum width
                # and the height for that width give the layout sizes it can trust.
                value.setWordWrap(True)
                value.setMinimumWidth(_VALUE_WIDTH)
                value.setMinimumHeight(value.heightForWidth(_VALUE_WIDTH))
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            value.setAccessibleName(label)
            if label == "Next step":
                font = value.font()
                font.setBold(True)
                value.setFont(font)
            self.rows.addRow(f"{label}:", value)

    def text(self) -> str:
        """Return everything shown, as plain text (for tests and screen readers)."""
        parts = [self.headline.text()]
        for row in range(self.rows.rowCount()):
            label = self.rows.itemAt(row, QFormLayout.ItemRole.LabelRole)
            field = self.rows.itemAt(row, QFormLayout.ItemRole.FieldRole)
            if label is not None and field is not None:
                parts.append(f"{label.widget().text()} {field.widget().text()}")
        return "\n".join(parts)

    def _clear_rows(self) -> None:
        while self.rows.rowCount():
            self.rows.removeRow(0)


class BridgeDialog(QDialog):
    """Add a bridge, or edit one: name, URL, kind of token, the token itself and the interval.

    The token field is masked and never filled from the keychain. Saving goes through
    BridgeManager, which writes the keychain before the config file. After `accept()`,
    `saved_bridge` is the saved BridgeConfig.
    """

    def __init__(
        self,
        manager: BridgeManager,
        bridge: BridgeConfig | None = None,
        *,
        default_interval: float = DEFAULT_INTERVAL,
        test_timeout: float = DEFAULT_TIMEOUT,
        ssl_context: ssl.SSLContext | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.manager = manager
        self.bridge = bridge
        self.saved_bridge: BridgeConfig | None = None
        self.token_change = TokenChange.REPLACE if bridge is None else TokenChange.KEEP
        self._stored_state, self._stored_message = TokenState.MISSING, ""
        self._test_timeout = test_timeout
        self._ssl_context = ssl_context
        self.setWindowTitle("Edit bridge" if bridge else "Add bridge")
        self.setMinimumWidth(640)

        self.runner = DiagnosisRunner(self)
        self.runner.finished.connect(self._on_test_finished)

        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)

        self.name_edit = QLineEdit()
        self.name_edit.setAccessibleName("Bridge name")
        self.name_edit.setPlaceholderText("for example Production")
        self.name_edit.setMaxLength(64)
        form.addRow(self._buddy("&Name:", self.name_edit), self.name_edit)

        self.url_edit = QLineEdit()
        self.url_edit.setAccessibleName("Bridge URL")
        self.url_edit.setPlaceholderText("the domain or IP address where the bridge is deployed, e.g. scim.example.com")
        self.url_note = QLabel()
        self.url_note.setWordWrap(True)
        self.url_note.setAccessibleName("URL check")
        self.allow_http = QCheckBox("Allow unencrypted &HTTP to this bridge")
        self.allow_http.setAccessibleName("Allow unencrypted HTTP")
        self.http_warning = QLabel(
            "Warning: over plain http:// the token crosses the network in clear text, so anyone on the "
            "path can read it and use it. Tick this only for a trusted network."
        )
        self.http_warning.setWordWrap(True)
        self.http_warning.setStyleSheet(_WARNING_STYLE)
        self.http_warning.hide()
        url_box = QVBoxLayout()
        url_box.setSpacing(4)
        url_box.addWidget(self.url_edit)
        url_box.addWidget(self.url_note)
        url_box.addWidget(self.allow_http)
        url_box.addWidget(self.http_warning)
        form.addRow(self._buddy("&URL:", self.url_edit), url_box)

        self.probe_group = QButtonGroup(self)
        probe_box = QVBoxLayout()
        probe_box.setSpacing(2)
        self.probe_buttons: dict[ProbeKind, QRadioButton] = {}
        for kind, title, note in _PROBE_CHOICES:
            button = QRadioButton(title)
            button.setAccessibleName(title)
            button.setAccessibleDescription(note)
            self.probe_group.addButton(button)
            self.probe_buttons[kind] = button
            caption = QLabel(note)
            caption.setStyleSheet(_NOTE_STYLE)
            caption.setContentsMargins(22, 0, 0, 4)
            probe_box.addWidget(button)
            probe_box.addWidget(caption)
        form.addRow(QLabel("Token type:"), probe_box)

        self.token_widget = self._build_token_area()
        form.addRow(self._buddy("&Token value:", self.token_edit), self.token_widget)

        self.interval_spin = QSpinBox()
        self.interval_spin.setRange(int(MIN_INTERVAL), int(MAX_INTERVAL))
        self.interval_spin.setSuffix(" s")
        self.interval_spin.setAccessibleName("Check interval in seconds")
        self.interval_spin.setMaximumWidth(140)
        form.addRow(self._buddy("Check &every:", self.interval_spin), self.interval_spin)

        self.keychain_warning = QLabel()
        self.keychain_warning.setWordWrap(True)
        self.keychain_warning.setStyleSheet(_WARNING_STYLE)
        self.keychain_warning.setAccessibleName("Keychain warning")
        problem = manager.tokens.availability_problem()
        if problem is not None:
            self.keychain_warning.setText(f"{problem} You can still add a bridge with no token.")
        self.keychain_warning.setVisible(problem is not None)

        self.test_button = QPushButton("Test &connection")
        self.test_button.setAccessibleName("Test connection")
        self.test_button.clicked.connect(self.start_test)
        self.cancel_test_button = QPushButton("Cancel test")
        self.cancel_test_button.setAccessibleName("Cancel the connection test")
        self.cancel_test_button.clicked.connect(self.runner.cancel)
        self.cancel_test_button.setEnabled(False)
        test_row = QHBoxLayout()
        test_row.addWidget(self.test_button)
        test_row.addWidget(self.cancel_test_button)
        test_row.addStretch(1)

        self.diagnosis_view = DiagnosisView()

        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(_ERROR_STYLE)
        self.error_label.setAccessibleName("Error")
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.hide()

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setAccessibleName("Save bridge")
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)

        separator = QFrame()
        separator.setFrameShape(QFrame.Shape.HLine)
        separator.setFrameShadow(QFrame.Shadow.Sunken)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.keychain_warning)
        layout.addWidget(separator)
        layout.addLayout(test_row)
        layout.addWidget(self.diagnosis_view)
        layout.addWidget(self.error_label)
        layout.addStretch(1)
        layout.addWidget(self.buttons)

        self.url_edit.textChanged.connect(self._refresh_url_note)
        self.allow_http.toggled.connect(self._on_allow_http)
        self.probe_group.buttonToggled.connect(lambda *_: self._refresh_token_area())

        self._load(bridge, default_interval)
        self._refresh_url_note()
        self._refresh_token_area()
        self.setTabOrder(self.name_edit, self.url_edit)
        self.setTabOrder(self.url_edit, self.allow_http)

    # -- building ------------------------------------------------------------------------------

    @staticmethod
    def _buddy(text: str, widget: QWidget) -> QLabel:
        label = QLabel(text)
        label.setBuddy(widget)
        return label

    def _build_token_area(self) -> QWidget:
        area = QWidget()
        layout = QVBoxLayout(area)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)

        self.token_status = QLabel()
        self.token_status.setWordWrap(True)
        self.token_status.setAccessibleName("Token status")
        self.replace_token_button = QPushButton("Replace token")
        self.replace_token_button.setAccessibleName("Replace the stored token")
        self.replace_token_button.clicked.connect(lambda: self._set_token_change(TokenChange.REPLACE))
        self.remove_token_button = QPushButton("Remove token")
        self.remove_token_button.setAccessibleName("Remove the stored token from the keychain")
        self.remove_token_button.clicked.connect(lambda: self._set_token_change(TokenChange.REMOVE))
        self.keep_token_button = QPushButton("Keep stored token")
        self.keep_token_button.setAccessibleName("Keep the stored token")
        self.keep_token_button.clicked.connect(lambda: self._set_token_change(TokenChange.KEEP))
        stored_row = QHBoxLayout()
        stored_row.addWidget(self.token_status, 1)
        stored_row.addWidget(self.replace_token_button)
        stored_row.addWidget(self.remove_token_button)
        stored_row.addWidget(self.keep_token_button)
        layout.addLayout(stored_row)

        self.token_edit = QLineEdit()
        self.token_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.token_edit.setAccessibleName("Token")
        self.token_edit.setPlaceholderText("paste the token; it is stored in the keychain, never shown again")
        self.token_edit.setInputMethodHints(
            Qt.InputMethodHint.ImhHiddenText | Qt.InputMethodHint.ImhNoPredictiveText | Qt.InputMethodHint.ImhSensitiveData
        )
        layout.addWidget(self.token_edit)
        return area

    def _load(self, bridge: BridgeConfig | None, default_interval: float) -> None:
        if bridge is None:
            self.probe_buttons[ProbeKind.MONITORING].setChecked(True)
            self.interval_spin.setValue(int(default_interval))
            return
        self.name_edit.setText(bridge.name)
        self.url_edit.setText(bridge.url)
        self.allow_http.setChecked(bridge.allow_http)
        self.probe_buttons[bridge.probe].setChecked(True)
        self.interval_spin.setValue(int(bridge.interval))
        # NOTE: this reads the keychain on the GUI thread; a locked Secret Service may show its
        # unlock prompt here, and the dialog waits for it.
        self._stored_state, self._stored_message = self.manager.token_state(bridge.id)
        if self._stored_state is TokenState.MISSING:
            self.token_change = TokenChange.REPLACE

    # -- state -----------------------------------------------------------------------------------

    @property
    def probe(self) -> ProbeKind:
        for kind, button in self.probe_buttons.items():
            if button.isChecked():
                return kind
        return ProbeKind.MONITORING

    def set_probe(self, kind: ProbeKind) -> None:
        self.probe_buttons[kind].setChecked(True)

    def form(self) -> BridgeForm:
        return BridgeForm(
            name=self.name_edit.text(),
            url=self.url_edit.text(),
            probe=self.probe,
            interval=float(self.interval_spin.value()),
            allow_http=self.allow_http.isChecked(),
        )

    def _set_token_change(self, change: TokenChange) -> None:
        self.token_change = change
        if change is TokenChange.REPLACE:
            self.token_edit.setFocus()
        self._refresh_token_area()

    def _refresh_token_area(self) -> None:
        needs_token = self.probe.needs_token
        editing = self.bridge is not None
        stored = self._stored_state
        change = self.token_change

        if not editing:
            self.token_status.setVisible(not needs_token)
            self.token_status.setText("No token is sent to /ping.")
            for button in (self.replace_token_button, self.remove_token_button, self.keep_token_button):
                button.hide()
            self.token_edit.setVisible(needs_token)
            self.token_edit.setEnabled(needs_token)
            return

        if change is TokenChange.REMOVE:
            text = "The token will be deleted from the keychain when you save."
        elif stored is TokenState.STORED:
            text = f"Token stored in {self.manager.tokens.backend_name}."
            if not needs_token:
                text += " /ping does not use it."
        elif stored is TokenState.UNAVAILABLE:
            text = self._stored_message
        else:
            text = "No token is stored for this bridge." if needs_token else "No token is sent to /ping."
        if change is TokenChange.REPLACE and stored is not TokenState.MISSING:
            text = "The new token replaces the stored one when you save."
        self.token_status.setText(text)
        self.token_status.show()
        has_entry = stored is not TokenState.MISSING
        self.replace_token_button.setVisible(change is TokenChange.KEEP and (needs_token or has_entry))
        self.remove_token_button.setVisible(change is TokenChange.KEEP and has_entry)
        self.keep_token_button.setVisible(change is not TokenChange.KEEP and has_entry)
        self.token_edit.setVisible(change is TokenChange.REPLACE)
        self.token_edit.setEnabled(change is TokenChange.REPLACE)

    def _refresh_url_note(self) -> None:
        text = self.url_edit.text()
        if not text.strip():
            self.url_note.setText("Enter the domain; https:// is added when no scheme is given.")
            self.url_note.setStyleSheet(_NOTE_STYLE)
            return
        try:
            normalized = normalize_bridge_url(text, allow_http=self.allow_http.isChecked())
        except BridgeUrlError as exc:
            self.url_note.setText(str(exc))
            self.url_note.setStyleSheet(_ERROR_STYLE)
            return
        lines = [f"Checks {normalized.url}{self.probe.path}"] + list(normalized.notes)
        self.url_note.setText("\n".join(lines))
        self.url_note.setStyleSheet(_NOTE_STYLE)

    def _on_allow_http(self, checked: bool) -> None:
        self.http_warning.setVisible(checked)
        self._refresh_url_note()

    def _token_source(self) -> Callable[[], str | None]:
        if self.token_change is TokenChange.REPLACE or self.bridge is None:
            typed = self.token_edit.text().strip()
            return lambda: typed or None
        if self.token_change is TokenChange.REMOVE:
            return lambda: None
        bridge_id = self.bridge.id
        return lambda: self.manager.tokens.get(bridge_id)

    # -- actions ---------------------------------------------------------------------------------

    def start_test(self) -> None:
        """Start "Test connection" in the background; the result arrives in the diagnosis view."""
        if self.runner.running:
            return
        self.error_label.hide()
        self.diagnosis_view.show_running()
        self.test_button.setEnabled(False)
        self.cancel_test_button.setEnabled(True)
        self.runner.start(
            self.url_edit.text(),
            self.probe,
            allow_http=self.allow_http.isChecked(),
            token_source=self._token_source(),
            timeout=self._test_timeout,
            ssl_context=self._ssl_context,
        )

    def _on_test_finished(self, diagnosis: Diagnosis | None) -> None:
        self.test_button.setEnabled(True)
        self.cancel_test_button.setEnabled(False)
        if diagnosis is None:
            self.diagnosis_view.show_cancelled()
        else:
            self.diagnosis_view.show_diagnosis(diagnosis)

    def save(self) -> None:
        """Validate and save; on failure show the message and keep the dialog open."""
        form = self.form()
        token = self.token_edit.text() if self.token_edit.isEnabled() else None
        try:
            if self.bridge is None:
                self.saved_bridge = self.manager.add(form, token)
            else:
                self.saved_bridge = self.manager.update(self.bridge.id, form, self.token_change, token)
        except BridgeInputError as exc:
            self._show_error(str(exc), exc.field)
            return
        except (TokenUnavailable, ConfigError) as exc:
            self._show_error(str(exc), "token" if isinstance(exc, TokenUnavailable) else "")
            return
        self.token_edit.clear()
        self.accept()

    def _show_error(self, message: str, field_name: str) -> None:
        self.error_label.setText(message)
        self.error_label.show()
        focus = {
            "name": self.name_edit,
            "url": self.url_edit,
            "interval": self.interval_spin,
            "token": self.token_edit if self.token_edit.isVisible() else None,
        }.get(field_name)
        if focus is not None:
            focus.setFocus()

    def done(self, result: int) -> None:  # every way of closing the dialog ends here
        self.runner.cancel()
        self.token_edit.clear()
        super().done(result)
