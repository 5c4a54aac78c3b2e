"""The detail window: every bridge on the left, the selected bridge's state and components on the right."""

from __future__ import annotations

from datetime import datetime, timezone

from PySide6.QtCore import QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QDesktopServices, QFont, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMenu,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from app.core.timefmt import format_duration
from app.core.certwatch import certificate_summary
from app.core.model import BridgeSnapshot, BridgeStatus, ComponentStatus, ProbeKind
from app.gui.first_run import FirstRunPage
from app.gui.icons import app_icon, status_icon

__all__ = ["DetailWindow"]

_COMPONENT_COLUMNS = ("Component", "Status", "Raw state", "Reported at", "Expires")
_ID_ROLE = Qt.ItemDataRole.UserRole


def _local_time(moment: datetime | None, zone: bool = True) -> str:
    if moment is None:
        return "-"
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z" if zone else "%Y-%m-%d %H:%M:%S")


def _ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "never"
    return f"{format_duration((now - moment).total_seconds())} ago"


class DetailWindow(QMainWindow):
    """Render engine snapshots; user actions leave as signals, decisions stay in the core."""

    check_requested = Signal(str)  # bridge id
    hidden_to_tray = Signal()
    add_requested = Signal()
    edit_requested = Signal(str)  # bridge id
    remove_requested = Signal(str)  # bridge id
    diagnostics_requested = Signal(str, bool)  # bridge id, whether to mask host names and addresses
    import_requested = Signal()
    export_requested = Signal()
    settings_requested = Signal()
    demo_requested = Signal()
    quit_requested = Signal()

    def __init__(self, *, keep_running_in_tray: bool = True) -> None:
        super().__init__()
        self.keep_running_in_tray = keep_running_in_tray
        self._snapshots: dict[str, BridgeSnapshot] = {}
        self._items: dict[str, QListWidgetItem] = {}
        self._notices: dict[str, str] = {}
        self.setWindowTitle("Bridgewatch")
        self.setWindowIcon(app_icon())
        self.resize(980, 580)
        self._build_actions()

        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setObjectName("banner")
        self.banner.setStyleSheet("QLabel#banner { background: #fdecea; color: #611a15; padding: 8px; }")
        self.banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.banner.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.banner.hide()

        self.bridge_list = QListWidget()
        self.bridge_list.setAccessibleName("Bridges")
        self.bridge_list.setIconSize(QSize(22, 22))
        self.bridge_list.setMinimumWidth(250)
        self.bridge_list.setSpacing(2)
        self.bridge_list.currentItemChanged.connect(lambda *_: self._render_selected())
        self.bridge_list.itemActivated.connect(lambda *_: self._emit_for_selected(self.edit_requested))

        self.details = self._build_details()
        self.empty = FirstRunPage()
        self.empty.add_requested.connect(self.add_requested)
        self.empty.demo_requested.connect(self.demo_requested)
        self.empty.import_requested.connect(self.import_requested)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.empty)
        self.pages.addWidget(self.details)

        splitter = QSplitter()
        splitter.addWidget(self.bridge_list)
        splitter.addWidget(self.pages)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([270, 710])

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.banner)
        layout.addWidget(splitter)
        self.setCentralWidget(central)

        # Keeps "checked 12 s ago" current between polls.
        self._age_timer = QTimer(self)
        self._age_timer.setInterval(5000)
        self._age_timer.timeout.connect(self._refresh_ages)
        # The timer runs only while the window is shown, so a tray-only app stays idle.
        self._render_selected()

    def _build_actions(self) -> None:
        """Create the menu bar and toolbar actions; each one only emits a signal."""

        def action(text: str, shortcut, tip: str) -> QAction:
            created = QAction(text, self)
            if shortcut is not None:
                created.setShortcut(QKeySequence(shortcut))
            created.setStatusTip(tip)
            created.setToolTip(tip)
            return created

        self.add_action = action("&Add bridge…", QKeySequence.StandardKey.New, "Add a bridge to watch")
        self.add_action.triggered.connect(self.add_requested)
        self.edit_action = action("&Edit bridge…", "Ctrl+E", "Edit the selected bridge, its token or interval")
        self.edit_action.triggered.connect(lambda: self._emit_for_selected(self.edit_requested))
        self.remove_action = action("&Remove bridge…", QKeySequence.StandardKey.Delete, "Remove the selected bridge")
        self.remove_action.triggered.connect(lambda: self._emit_for_selected(self.remove_requested))
        self.check_action = action("&Check now", QKeySequence.StandardKey.Refresh, "Check the selected bridge now")
        self.check_action.triggered.connect(self._on_check_clicked)
        self.import_action = action("&Import…", "Ctrl+I", "Add bridges from an exported list")
        self.import_action.triggered.connect(self.import_requested)
        self.export_action = action("E&xport…", "Ctrl+Shift+E", "Save the bridge list, without tokens, to a file")
        self.export_action.triggered.connect(self.export_requested)
        self.settings_action = action("&Settings…", QKeySequence.StandardKey.Preferences, "Default interval, start at login")
        if self.settings_action.shortcut().isEmpty():
            self.settings_action.setShortcut(QKeySequence("Ctrl+,"))
        self.settings_action.triggered.connect(self.settings_requested)
        self.quit_action = action("&Quit", QKeySequence.StandardKey.Quit, "Stop watching and quit Bridgewatch")
        self.quit_action.triggered.connect(self.quit_requested)

        file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction(self.import_action)
        file_menu.addAction(self.export_action)
        file_menu.addSeparator()
        file_menu.addAction(self.settings_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        bridge_menu = self.menuBar().addMenu("&Bridges")
        for item in (self.add_action, self.edit_action, self.remove_action, self.check_action):
            bridge_menu.addAction(item)

        toolbar = QToolBar("Bridges")
        toolbar.setObjectName("bridgeToolbar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        for item in (self.add_action, self.edit_action, self.remove_action):
            toolbar.addAction(item)
        toolbar.addSeparator()
        toolbar.addAction(self.settings_action)
        self.addToolBar(toolbar)
        self.toolbar = toolbar

    def _emit_for_selected(self, signal) -> None:
        bridge_id = self.selected_id()
        if bridge_id:
            signal.emit(bridge_id)

    def _refresh_actions(self) -> None:
        selected = self.selected_id() is not None
        self.edit_action.setEnabled(selected)
        self.remove_action.setEnabled(selected)
        self.check_action.setEnabled(selected)
        self.export_action.setEnabled(bool(self._snapshots))

    def set_notice(self, key: str, text: str) -> None:
        """Show `text` in the banner under `key`, or remove that notice when `text` is empty."""
        if text:
            self._notices[key] = text
        else:
            self._notices.pop(key, None)
        self.banner.setText("\n\n".join(self._notices.values()))
        self.banner.setVisible(bool(self._notices))
        self._fit_banner()

    def _fit_banner(self) -> None:
        # A wrapped label's size hint assumes a narrow width, so across a wide window the
        # banner would keep the height of many lines: size it for the width it has.
        width = self.centralWidget().width() if self.centralWidget() else self.width()
        height = self.banner.heightForWidth(width)
        if height < 0:  # an empty label has no height for a width
            height = self.banner.sizeHint().height()
        self.banner.setFixedHeight(height)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        if self.banner.isVisible():
            self._fit_banner()

    def snapshots(self) -> dict[str, BridgeSnapshot]:
        return dict(self._snapshots)

    def _build_details(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)

        header = QHBoxLayout()
        self.status_image = QLabel()
        self.status_image.setFixedSize(40, 40)
        self.title = QLabel()
        title_font = QFont(self.font())
        title_font.setPointSizeF(title_font.pointSizeF() * 1.5)
        title_font.setBold(True)
        self.title.setFont(title_font)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        header.addWidget(self.status_image)
        header.addWidget(self.title, 1)
        self.check_button = QPushButton("Check now")
        self.check_button.setAccessibleName("Check this bridge now")
        self.check_button.clicked.connect(self._on_check_clicked)
        self.status_page_button = QPushButton("Open status page")
        self.status_page_button.setAccessibleName("Open the bridge's status page in a browser")
        self.status_page_button.clicked.connect(self._on_status_page_clicked)
        header.addWidget(self.check_button)
        header.addWidget(self.status_page_button)
        self.diagnostics_button = QPushButton("Copy diagnostics")
        self.diagnostics_button.setAccessibleName("Copy a diagnostics report about this bridge, without its token")
        diagnostics_menu = QMenu(self.diagnostics_button)
        diagnostics_menu.addAction("Copy diagnostics").triggered.connect(
            lambda: self._emit_diagnostics(False))
        diagnostics_menu.addAction("Copy diagnostics with host names and addresses masked").triggered.connect(
            lambda: self._emit_diagnostics(True))
        self.diagnostics_button.setMenu(diagnostics_menu)
        header.addWidget(self.diagnostics_button)
        layout.addLayout(header)

        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        summary_font = QFont(self.font())
        summary_font.setPointSizeF(summary_font.pointSizeF() * 1.15)
        self.summary.setFont(summary_font)
        layout.addWidget(self.summary)

        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.fields: dict[str, QLabel] = {}
        for key, label in (
            ("url", "URL"),
            ("probe", "Probe"),
            ("version", "Version"),
            ("checked", "Last check"),
            ("latency", "Latency"),
            ("http", "HTTP status"),
            ("error", "Error"),
            ("next", "Next step"),
            ("certificate", "TLS certificate"),
        ):
            value = QLabel()
            value.setWordWrap(True)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            value.setAccessibleName(label)
            form.addRow(f"{label}:", value)
            self.fields[key] = value
        self.fields["error"].setStyleSheet("color: #b71c1c;")
        self._form = form
        layout.addLayout(form)

        self.components_label = QLabel("Components")
        bold = QFont(self.font())
        bold.setBold(True)
        self.components_label.setFont(bold)
        self.components = QTableWidget(0, len(_COMPONENT_COLUMNS))
        self.components.setAccessibleName("Components of the selected bridge")
        self.components.setHorizontalHeaderLabels(_COMPONENT_COLUMNS)
        self.components.verticalHeader().setVisible(False)
        self.components.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.components.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.components.setAlternatingRowColors(True)
        header_view = self.components.horizontalHeader()
        # Columns fit their contents, with a floor so that an empty table does not look squeezed.
        header_view.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header_view.setMinimumSectionSize(110)
        header_view.setStretchLastSection(True)
        self.components.setWordWrap(False)
        # The components are the first tab; the tray app adds the History tab.
        components_page = QWidget()
        components_layout = QVBoxLayout(components_page)
        components_layout.setContentsMargins(0, 0, 0, 0)
        components_layout.addWidget(self.components_label)
        components_layout.addWidget(self.components, 1)
        self.detail_tabs = QTabWidget()
        self.detail_tabs.setDocumentMode(True)
        self.detail_tabs.addTab(components_page, "Components")
        layout.addWidget(self.detail_tabs, 1)
        return page

    def add_detail_tab(self, widget: QWidget, title: str) -> None:
        """Add a tab beside the component table, for example the bridge's history."""
        self.detail_tabs.addTab(widget, title)

    # -- state from the engine -------------------------------------------------------------

    def set_bridges(self, snapshots: list[BridgeSnapshot]) -> None:
        """Replace the listed bridges, keeping the selection where possible."""
        selected = self.selected_id()
        self.bridge_list.clear()
        self._items.clear()
        self._snapshots.clear()
        for snapshot in snapshots:
            self.update_bridge(snapshot)
        if snapshots:
            self.select_bridge(selected or snapshots[0].id)
        self._render_selected()

    def update_bridge(self, snapshot: BridgeSnapshot) -> None:
        self._snapshots[snapshot.id] = snapshot
        item = self._item_for(snapshot.id)
        if item is None:
            item = QListWidgetItem()
            item.setData(_ID_ROLE, snapshot.id)
            self.bridge_list.addItem(item)
            self._items[snapshot.id] = item
            if self.bridge_list.currentItem() is None:
                self.bridge_list.setCurrentItem(item)
        item.setIcon(status_icon(snapshot.shown_status))
        item.setText(self._list_text(snapshot))
        item.setToolTip(snapshot.summary)
        if snapshot.id == self.selected_id():
            self._render_selected()

    def show_banner(self, text: str) -> None:
        self.set_notice("general", text)

    def select_bridge(self, bridge_id: str) -> None:
        item = self._item_for(bridge_id)
        if item is not None:
            self.bridge_list.setCurrentItem(item)

    def selected_id(self) -> str | None:
        item = self.bridge_list.currentItem()
        return item.data(_ID_ROLE) if item else None

    def component_rows(self) -> list[list[str]]:
        """Return the component table as text, row by row (for tests and screen readers)."""
        rows = []
        for row in range(self.components.rowCount()):
            rows.append([self.components.item(row, column).text() for column in range(self.components.columnCount())])
        return rows

    # -- rendering ---------------------------------------------------------------------------

    def _item_for(self, bridge_id: str) -> QListWidgetItem | None:
        # A dict, not a scan of the list: a polling round of n bridges would cost O(n²).
        return self._items.get(bridge_id)

    def _list_text(self, snapshot: BridgeSnapshot) -> str:
        checked = snapshot.result.checked_at if snapshot.result else None
        age = _ago(checked, datetime.now(timezone.utc)) if checked else "not checked yet"
        return f"{snapshot.name}\n{_status_words(snapshot)} · {age}"

    def _refresh_ages(self) -> None:
        for row in range(self.bridge_list.count()):
            item = self.bridge_list.item(row)
            snapshot = self._snapshots.get(item.data(_ID_ROLE))
            if snapshot is not None:
                item.setText(self._list_text(snapshot))
        snapshot = self._snapshots.get(self.selected_id() or "")
        if snapshot is not None:
            self.fields["checked"].setText(self._checked_text(snapshot))

    def _checked_text(self, snapshot: BridgeSnapshot) -> str:
        result = snapshot.result
        if result is None:
            return "not checked yet"
        now = datetime.now(timezone.utc)
        text = f"{_local_time(result.checked_at)} ({_ago(result.checked_at, now)})"
        if snapshot.since and snapshot.status.is_problem:
            text += f"; {snapshot.status.value} since {_local_time(snapshot.since)}"
        return text

    def _render_selected(self) -> None:
        self._refresh_actions()
        self.bridge_list.setVisible(bool(self._snapshots))  # an empty list beside the first-run page is noise
        snapshot = self._snapshots.get(self.selected_id() or "")
        if snapshot is None:
            self.pages.setCurrentWidget(self.empty if not self._snapshots else self.details)
            if not self._snapshots:
                return
            snapshot = next(iter(self._snapshots.values()))
        self.pages.setCurrentWidget(self.details)
        result = snapshot.result

        self.status_image.setPixmap(status_icon(snapshot.shown_status).pixmap(40, 40))
        self.status_image.setToolTip(snapshot.shown_status.label)
        self.title.setText(f"{snapshot.name} — {_status_words(snapshot)}")
        self.summary.setText(snapshot.summary + _policy_note(snapshot))
        self.fields["url"].setText(snapshot.url)
        probe_text = {
            ProbeKind.HEALTH: "/health with the bearer token",
            ProbeKind.MONITORING: "/monitoring with the health-check-only token",
            ProbeKind.PING: "/ping without a token (liveness only)",
        }[snapshot.probe]
        self.fields["probe"].setText(probe_text)
        version = snapshot.version or "-"
        if snapshot.build:
            version += f" (build {snapshot.build})"
        self.fields["version"].setText(version)
        self.fields["checked"].setText(self._checked_text(snapshot))
        latency = result.latency_ms if result else None
        self.fields["latency"].setText(f"{latency:.0f} ms" if latency is not None else "-")
        self.fields["http"].setText(str(result.http_status) if result and result.http_status else "-")
        error = result.error if result else None
        # The summary above already states the message, so the Error row shows only a different one.
        error_text = error.message if error is not None and error.message != snapshot.summary else ""
        next_text = error.hint if error is not None else ""
        self.fields["error"].setText(error_text)
        self.fields["next"].setText(next_text)
        self._form.setRowVisible(self.fields["error"], bool(error_text))
        self._form.setRowVisible(self.fields["next"], bool(next_text))
        certificate = result.certificate if result else None
        if certificate is None:
            self.fields["certificate"].setText("-" if not snapshot.url.startswith("https://") else "not read yet")
        else:
            self.fields["certificate"].setText(certificate_summary(certificate, datetime.now(timezone.utc)))

        components = result.components if result else ()
        self.components_label.setText(
            f"Components ({len(components)})" if components else "Components: none reported in the last check"
        )
        zone = datetime.now().astimezone().strftime("%Z")
        self.components.setHorizontalHeaderLabels(
            [*_COMPONENT_COLUMNS[:3], f"Reported at ({zone})", f"Expires ({zone})"]
        )
        self.components.setRowCount(len(components))
        for row, component in enumerate(components):
            status_text = component.status.value
            if component.status is ComponentStatus.STALE:
                status_text = "stale (stopped reporting)"
            cells = (
                component.name,
                status_text,
                component.state,
                _local_time(component.reported_at, zone=False),
                _local_time(component.expires_at, zone=False),
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column == 1:
                    item.setIcon(status_icon(_COMPONENT_ICON[component.status]))
                if component.status is not ComponentStatus.HEALTHY:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                self.components.setItem(row, column, item)

    # -- user actions ------------------------------------------------------------------------

    def _on_check_clicked(self) -> None:
        bridge_id = self.selected_id()
        if bridge_id:
            self.check_requested.emit(bridge_id)

    def _emit_diagnostics(self, masked: bool) -> None:
        bridge_id = self.selected_id()
        if bridge_id:
            self.diagnostics_requested.emit(bridge_id, masked)

    def _on_status_page_clicked(self) -> None:
        snapshot = self._snapshots.get(self.selected_id() or "")
        if snapshot is not None:
            QDesktopServices.openUrl(QUrl(snapshot.url + "/app"))

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        self._refresh_ages()
        self._age_timer.start()
        super().showEvent(event)

    def hideEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        self._age_timer.stop()
        super().hideEvent(event)

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        if self.keep_running_in_tray:
            event.ignore()
            self.hide()
            self.hidden_to_tray.emit()
        else:
            event.accept()


def _status_words(snapshot: BridgeSnapshot) -> str:
    """Return the status label, saying "checking" while a change awaits confirmation."""
    if snapshot.checking:
        return f"{snapshot.shown_status.label}, checking ({snapshot.status.value} seen)"
    return snapshot.shown_status.label


def _policy_note(snapshot: BridgeSnapshot) -> str:
    notes = []
    if snapshot.incident_since is not None:
        kind = "Unstable incident" if snapshot.unstable else "Incident"
        notes.append(f"{kind} open since {_local_time(snapshot.incident_since)}.")
    if snapshot.snoozed_until_recovery:
        notes.append("Notifications snoozed until it recovers.")
    elif snapshot.snoozed_until is not None:
        notes.append(f"Notifications snoozed until {_local_time(snapshot.snoozed_until)}.")
    return ("\n" + " ".join(notes)) if notes else ""


_COMPONENT_ICON = {
    ComponentStatus.HEALTHY: BridgeStatus.HEALTHY,
    ComponentStatus.UNHEALTHY: BridgeStatus.UNHEALTHY,
    ComponentStatus.STALE: BridgeStatus.DEGRADED,
}
