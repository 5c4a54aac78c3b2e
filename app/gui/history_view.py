"""The History tab of the detail window: uptime, a 24-hour latency graph, a component timeline,
the incident list and CSV export, all read through a read-only connection to the history database."""

from __future__ import annotations

import csv
import logging
import math
import time
from datetime import datetime
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QFrame,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.history import DAY, HOUR, HistoryError, HistoryReader, Sample, Segment, csv_rows, max_gap_for
from app.core.timefmt import format_duration

__all__ = ["HistoryView", "LatencyGraph", "ComponentTimeline"]

log = logging.getLogger(__name__)

REFRESH_MS = 60_000
_INCIDENT_COLUMNS = ("Start", "End", "Duration", "Worst status", "Cause")

STATUS_COLOURS = {
    "healthy": QColor("#2e7d32"),
    "degraded": QColor("#f9a825"),
    "stale": QColor("#f9a825"),
    "unhealthy": QColor("#c62828"),
    "unreachable": QColor("#6a1b9a"),
    "unauthorized": QColor("#ef6c00"),
    "unknown": QColor("#9e9e9e"),
    "none": QColor("#bdbdbd"),
}
NO_DATA_COLOUR = QColor("#eeeeee")
GRID_COLOUR = QColor("#d0d0d0")
LINE_COLOUR = QColor("#1565c0")
TEXT_COLOUR = QColor("#424242")


def _hour_label(moment: float) -> str:
    return datetime.fromtimestamp(moment).astimezone().strftime("%H:%M")


def _local(moment: float | None) -> str:
    if moment is None:
        return "ongoing"
    return datetime.fromtimestamp(moment).astimezone().strftime("%Y-%m-%d %H:%M")


def _draw_time_axis(painter: QPainter, plot: QRectF, start: float, end: float, label_y: float) -> None:
    """Draw a vertical grid line and a local-time label every 3 hours."""
    painter.setPen(QPen(GRID_COLOUR, 1))
    step = 3 * HOUR
    tick = math.ceil(start / step) * step
    metrics = painter.fontMetrics()
    while tick <= end:
        x = plot.left() + (tick - start) / (end - start) * plot.width()
        painter.setPen(QPen(GRID_COLOUR, 1))
        painter.drawLine(QPointF(x, plot.top()), QPointF(x, plot.bottom()))
        label = _hour_label(tick)
        width = metrics.horizontalAdvance(label)
        painter.setPen(TEXT_COLOUR)
        painter.drawText(QPointF(min(max(x - width / 2, plot.left()), plot.right() - width), label_y), label)
        tick += step


class LatencyGraph(QWidget):
    """Response times of the last 24 hours, drawn with QPainter.

    The line breaks where there is no data. Results that are not healthy are marked on the
    time axis in their status colour, and periods without data are shaded.
    """

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setMinimumHeight(170)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setAccessibleName("Response time over the last 24 hours")
        self.samples: list[Sample] = []
        self.coverage: list[tuple[float, float]] = []
        self.start = 0.0
        self.end = DAY
        self.max_gap = 120.0
        self.left_margin = 0  # the view sets it so the graph's and the timeline's time axes line up

    def set_data(self, samples, coverage, start: float, end: float, max_gap: float) -> None:
        self.samples = [s for s in samples if start <= s.at < end]
        self.coverage, self.start, self.end, self.max_gap = coverage, start, end, max_gap
        latencies = [s.latency_ms for s in self.samples if s.latency_ms is not None]
        if latencies:
            self.setToolTip(
                f"Median {sorted(latencies)[len(latencies) // 2]:.0f} ms, max {max(latencies):.0f} ms "
                f"over {len(latencies)} answers"
            )
        self.update()

    def _scale(self) -> float:
        """Return the y axis maximum in ms: a round number above the 99th percentile."""
        latencies = sorted(s.latency_ms for s in self.samples if s.latency_ms is not None)
        if not latencies:
            return 100.0
        top = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        for nice in (50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
            if top <= nice:
                return float(nice)
        return float(math.ceil(top / 10000) * 10000)

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        metrics = painter.fontMetrics()
        left = max(self.left_margin, metrics.horizontalAdvance("10000 ms") + 8)
        plot = QRectF(left, 8, self.width() - left - 10, self.height() - metrics.height() - 18)
        painter.fillRect(self.rect(), self.palette().base())
        if plot.width() <= 0 or plot.height() <= 0:
            return
        span = self.end - self.start

        def x_of(moment: float) -> float:
            return plot.left() + (moment - self.start) / span * plot.width()

        # Shade the time without data.
        cursor = self.start
        for covered_start, covered_end in self.coverage + [(self.end, self.end)]:
            if covered_start > cursor:
                painter.fillRect(QRectF(x_of(cursor), plot.top(), x_of(covered_start) - x_of(cursor), plot.height()),
                                 NO_DATA_COLOUR)
            cursor = max(cursor, covered_end)

        scale = self._scale()
        for fraction in (0.0, 0.5, 1.0):
            y = plot.bottom() - fraction * plot.height()
            painter.setPen(QPen(GRID_COLOUR, 1))
            painter.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
            label = f"{scale * fraction:.0f} ms"
            painter.setPen(TEXT_COLOUR)
            painter.drawText(QPointF(left - 6 - metrics.horizontalAdvance(label), y + metrics.ascent() / 2 - 1), label)
        _draw_time_axis(painter, plot, self.start, self.end, self.height() - 6)

        path = QPainterPath()
        previous: Sample | None = None
        for sample in self.samples:
            if sample.latency_ms is None:
                previous = None
                continue
            point = QPointF(x_of(sample.at), plot.bottom() - min(sample.latency_ms, scale) / scale * plot.height())
            if previous is None or sample.at - previous.at > self.max_gap:
                path.moveTo(point)
            else:
                path.lineTo(point)
            previous = sample
        painter.setPen(QPen(LINE_COLOUR, 1.5))
        painter.drawPath(path)

        # Results that are not healthy, as ticks under the plot, so an outage is visible without latency.
        for sample in self.samples:
            if sample.status != "healthy":
                painter.setPen(QPen(STATUS_COLOURS.get(sample.status, STATUS_COLOURS["unknown"]), 2))
                x = x_of(sample.at)
                painter.drawLine(QPointF(x, plot.bottom() - 6), QPointF(x, plot.bottom()))
        if not self.samples:
            painter.setPen(TEXT_COLOUR)
            painter.drawText(plot, Qt.AlignmentFlag.AlignCenter, "No data in the last 24 hours")
        painter.end()


class ComponentTimeline(QWidget):
    """One row per component, coloured by its status over the last 24 hours."""

    ROW_HEIGHT = 18

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Component status over the last 24 hours")
        self.rows: dict[str, list[Segment]] = {}
        self.coverage: list[tuple[float, float]] = []
        self.start = 0.0
        self.end = DAY
        self.left_margin = 0
        self._update_height()

    def set_data(self, rows: dict[str, list[Segment]], coverage, start: float, end: float) -> None:
        self.rows, self.coverage, self.start, self.end = rows, coverage, start, end
        self._update_height()
        self.update()

    def label_width(self) -> int:
        """Return the width the component names need, in pixels."""
        return max([self.fontMetrics().horizontalAdvance(name) for name in self.rows] + [60]) + 12

    def _update_height(self) -> None:
        count = max(1, len(self.rows))
        self.setFixedHeight(count * (self.ROW_HEIGHT + 4) + self.fontMetrics().height() + 14)

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().base())
        metrics = painter.fontMetrics()
        names = list(self.rows)
        left = max(self.left_margin, self.label_width())
        plot = QRectF(left, 4, self.width() - left - 10, len(names) * (self.ROW_HEIGHT + 4))
        if plot.width() <= 0:
            return
        span = self.end - self.start

        def x_of(moment: float) -> float:
            return plot.left() + (moment - self.start) / span * plot.width()

        if not names:
            painter.setPen(TEXT_COLOUR)
            painter.drawText(QRectF(0, 0, self.width(), self.height() - metrics.height() - 8),
                             Qt.AlignmentFlag.AlignCenter, "No component reports in the last 24 hours")
        for index, name in enumerate(names):
            top = plot.top() + index * (self.ROW_HEIGHT + 4)
            painter.setPen(TEXT_COLOUR)
            painter.drawText(QRectF(0, top, left - 8, self.ROW_HEIGHT),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, name)
            painter.fillRect(QRectF(plot.left(), top, plot.width(), self.ROW_HEIGHT), NO_DATA_COLOUR)
            for segment in self.rows[name]:
                colour = STATUS_COLOURS.get(segment.status, STATUS_COLOURS["unknown"])
                for covered_start, covered_end in self.coverage:
                    start = max(segment.start, covered_start)
                    end = min(segment.end, covered_end)
                    if end > start:
                        painter.fillRect(QRectF(x_of(start), top, max(1.0, x_of(end) - x_of(start)), self.ROW_HEIGHT),
                                         colour)
        axis = QRectF(plot.left(), plot.top(), plot.width(), max(plot.height(), 1))
        _draw_time_axis(painter, axis, self.start, self.end, self.height() - 6)
        painter.end()


class HistoryView(QWidget):
    """Render the selected bridge's history. Reads are short queries on the GUI thread:
    SQLite's WAL lets them run beside the engine's writes without waiting."""

    def __init__(self, database: Path | None = None, *, now: Callable[[], float] = time.time, parent=None) -> None:
        super().__init__(parent)
        self.database = database
        self._now = now
        self._reader: HistoryReader | None = None
        self.bridge_id: str | None = None
        self.bridge_name = ""

        # In a scroll area, so a short window scrolls instead of squeezing the graph below its minimum height.
        content = QWidget()
        layout = QVBoxLayout(content)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        heading = QFont(self.font())
        heading.setBold(True)

        top = QHBoxLayout()
        self.uptime_labels: dict[str, QLabel] = {}
        for key, label in (("24h", "24 hours"), ("7d", "7 days"), ("30d", "30 days")):
            value = QLabel()
            value.setAccessibleName(f"Uptime over {label}")
            value.setTextFormat(Qt.TextFormat.RichText)
            value.setMinimumWidth(150)
            top.addWidget(value)
            self.uptime_labels[key] = value
        top.addStretch(1)
        self.export_button = QPushButton("Export CSV…")
        self.export_button.setAccessibleName("Export this bridge's probe results as CSV")
        self.export_button.clicked.connect(self.export_csv)
        top.addWidget(self.export_button)
        layout.addLayout(top)

        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.hide()
        layout.addWidget(self.message)

        graph_label = QLabel("Response time, last 24 hours (grey: no data)")
        graph_label.setFont(heading)
        layout.addWidget(graph_label)
        self.graph = LatencyGraph()
        layout.addWidget(self.graph, 2)

        timeline_label = QLabel("Components, last 24 hours")
        timeline_label.setFont(heading)
        layout.addWidget(timeline_label)
        self.timeline = ComponentTimeline()
        layout.addWidget(self.timeline)
        legend = QLabel(_legend_html())
        legend.setTextFormat(Qt.TextFormat.RichText)
        legend.setAccessibleName("Colour legend")
        layout.addWidget(legend)

        self.incidents_label = QLabel("Incidents")
        self.incidents_label.setFont(heading)
        layout.addWidget(self.incidents_label)
        self.incidents = QTableWidget(0, len(_INCIDENT_COLUMNS))
        self.incidents.setAccessibleName("Incidents of the selected bridge")
        self.incidents.setHorizontalHeaderLabels(_INCIDENT_COLUMNS)
        self.incidents.verticalHeader().setVisible(False)
        self.incidents.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.incidents.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        header = self.incidents.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.incidents.setMinimumHeight(90)
        layout.addWidget(self.incidents, 1)

        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()
        self.show_bridge(None)

    # -- data -------------------------------------------------------------------------------------

    def _open(self) -> HistoryReader | None:
        if self._reader is None and self.database is not None:
            try:
                self._reader = HistoryReader(self.database)
            except HistoryError as exc:
                log.debug("History not readable yet: %s", exc)
                return None
        return self._reader

    def close_reader(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        self.close_reader()
        super().closeEvent(event)

    def show_bridge(self, bridge_id: str | None, name: str = "") -> None:
        self.bridge_id, self.bridge_name = bridge_id, name
        self.refresh()

    def refresh(self) -> None:
        """Read the selected bridge's history again and redraw."""
        reader = self._open() if self.bridge_id else None
        info = reader.bridge(self.bridge_id) if reader is not None else None
        self.export_button.setEnabled(info is not None)
        if reader is None or info is None:
            self._show_empty()
            return
        self.message.hide()
        now = self._now()
        for key, days in (("24h", 1), ("7d", 7), ("30d", 30)):
            uptime = reader.uptime(info.id, now - days * DAY, now)
            self.uptime_labels[key].setText(_uptime_html(key, uptime))
        start = now - DAY
        samples = reader.samples(info.id, start, now + 1)
        coverage = reader.coverage(info.id, start, now)
        self.graph.set_data(samples, coverage, start, now, max_gap_for(info.interval))
        self.timeline.set_data(reader.component_segments(info.id, start, now), coverage, start, now)
        margin = max(self.timeline.label_width(), self.fontMetrics().horizontalAdvance("10000 ms") + 8)
        self.graph.left_margin = self.timeline.left_margin = margin
        self._show_incidents(reader, info.id, now)

    def _show_empty(self) -> None:
        for key, label in self.uptime_labels.items():
            label.setText(_uptime_html(key, None))
        self.message.setText(
            "No history recorded for this bridge yet. Bridgewatch records every check while it runs."
            if self.bridge_id
            else ""
        )
        self.message.setVisible(bool(self.bridge_id))
        self.graph.set_data([], [], self._now() - DAY, self._now(), 120)
        self.timeline.set_data({}, [], self._now() - DAY, self._now())
        self.incidents.setRowCount(0)
        self.incidents_label.setText("Incidents: none recorded")

    def _show_incidents(self, reader: HistoryReader, bridge_id: str, now: float) -> None:
        incidents = reader.incidents(bridge_id, since=now - 30 * DAY)
        self.incidents_label.setText(
            f"Incidents in the last 30 days ({len(incidents)})" if incidents else "Incidents in the last 30 days: none"
        )
        self.incidents.setRowCount(len(incidents))
        for row, incident in enumerate(incidents):
            cells = (
                _local(incident.opened_at),
                _local(incident.closed_at),
                format_duration(incident.duration(now)),
                incident.worst,
                incident.cause,
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column == 4:
                    item.setToolTip(text)
                self.incidents.setItem(row, column, item)

    def incident_rows(self) -> list[list[str]]:
        """Return the incident table as text, row by row (for tests and screen readers)."""
        return [
            [self.incidents.item(row, column).text() for column in range(self.incidents.columnCount())]
            for row in range(self.incidents.rowCount())
        ]

    # -- export -----------------------------------------------------------------------------------

    def choose_csv_path(self) -> Path | None:
        """Ask where to save; tests replace this."""
        suggested = str(Path.home() / f"{self.bridge_name or 'bridge'}-history.csv")
        path, _ = QFileDialog.getSaveFileName(self, "Export history as CSV", suggested, "CSV files (*.csv)")
        return Path(path) if path else None

    def export_csv(self) -> Path | None:
        """Write every stored probe result of the selected bridge to a CSV file; return its path."""
        reader = self._open()
        if reader is None or self.bridge_id is None:
            return None
        path = self.choose_csv_path()
        if path is None:
            return None
        samples = reader.samples(self.bridge_id, 0.0, self._now() + DAY)
        try:
            with path.open("w", newline="", encoding="utf-8") as handle:
                csv.writer(handle).writerows(csv_rows(samples))
        except OSError as exc:
            QMessageBox.warning(self, "Export failed", f"Cannot write {path}: {exc.strerror or exc}.")
            return None
        log.info("Exported %d results of bridge %s to %s", len(samples), self.bridge_id, path)
        return path


def _legend_html() -> str:
    entries = [
        (STATUS_COLOURS["healthy"], "healthy"),
        (STATUS_COLOURS["stale"], "stale or degraded"),
        (STATUS_COLOURS["unhealthy"], "unhealthy"),
        (STATUS_COLOURS["unreachable"], "unreachable"),
        (STATUS_COLOURS["none"], "not reported"),
        (NO_DATA_COLOUR.darker(110), "no data"),
    ]
    return "&nbsp;&nbsp;".join(f"<span style='color:{colour.name()}'>&#9632;</span>&nbsp;{text}" for colour, text in entries)


def _uptime_html(key: str, uptime) -> str:
    label = {"24h": "24 hours", "7d": "7 days", "30d": "30 days"}[key]
    if uptime is None or uptime.percent is None:
        return f"Uptime {label}<br><b style='font-size:14pt'>no data</b>"
    percent = uptime.percent
    text = f"{percent:.2f} %" if percent < 100 else "100 %"
    note = ""
    if uptime.no_data >= 60:
        note = f"<br><span style='color:#616161'>no data for {format_duration(uptime.no_data)}</span>"
    return f"Uptime {label}<br><b style='font-size:14pt'>{text}</b>{note}"
