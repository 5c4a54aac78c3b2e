"""Proposed GUI changes, applied by monkeypatching so their gains can be measured before app/gui adopts them.

apply_gui_batching: each snapshot costs the GUI thread two scans over all bridges, because
DetailWindow._item_for walks the list widget and TrayIcon._refresh rebuilds the tooltip from
every bridge. A burst of snapshots (every bridge polled at once at start-up) therefore costs
O(n²) in one event-loop pass. The change looks items up in a dict, refreshes the tray once per
event-loop turn, and reloads the config only when the config file changed.

apply_idle_timers: removes the two periodic timers of the GUI thread (see its docstring).

NOTE: the dict here never drops an entry. That is enough for a benchmark that removes no
bridge, but the real change must forget an item when its bridge is removed.
"""

from __future__ import annotations

from PySide6.QtCore import QTimer


def apply_gui_batching() -> None:
    import app.gui.tray as tray
    import app.gui.window as window

    scan_for_item = window.DetailWindow._item_for
    refresh_now = tray.TrayIcon._refresh

    def item_for(self, bridge_id: str):
        items = self.__dict__.setdefault("_bench_items", {})
        item = items.get(bridge_id)
        if item is None:
            item = scan_for_item(self, bridge_id)
            if item is not None:
                items[bridge_id] = item
        return item

    def refresh_later(self) -> None:
        if self.__dict__.get("_bench_refresh_pending"):
            return
        self._bench_refresh_pending = True

        def run() -> None:
            self._bench_refresh_pending = False
            refresh_now(self)

        QTimer.singleShot(0, run)

    window.DetailWindow._item_for = item_for
    tray.TrayIcon._refresh = refresh_later
    _skip_unchanged_config_reloads()


def _skip_unchanged_config_reloads() -> None:
    """Reload the config only when the file itself changed, not on every write in its folder.

    The engine saves alert-state.json beside config.toml, so the folder watcher fires after
    polls that change the alert state, and each reload parses every bridge again.
    """
    import app.gui.app as gui_app

    reload_now = gui_app.TrayApp._reload_config_from_disk

    def reload_if_changed(self) -> None:
        try:
            stat = self._config_path.stat()
            signature = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        except OSError:
            signature = None
        if signature is not None and signature == self.__dict__.get("_bench_config_signature"):
            self._watch_config_paths()
            return
        self._bench_config_signature = signature
        reload_now(self)

    gui_app.TrayApp._reload_config_from_disk = reload_if_changed


def apply_idle_timers() -> None:
    """Remove the two periodic GUI timers of an idle tray app, to measure what they cost.

    run_gui starts a 500 ms heartbeat so that Python handles Ctrl+C, and DetailWindow refreshes
    its "checked 12 s ago" texts every 5 s even while hidden. The real change would stop the
    age timer while the window is hidden and wake Python through signal.set_wakeup_fd.
    """
    import app.gui.app as gui_app
    import app.gui.window as window

    class NoHeartbeatTimer(gui_app.QTimer):
        def start(self, *args) -> None:
            if args == (500,) and self.parent() is None:
                return  # the heartbeat of run_gui
            super().start(*args)

    gui_app.QTimer = NoHeartbeatTimer
    original_init = window.DetailWindow.__init__

    def init_without_age_timer(self, *args, **kwargs) -> None:
        original_init(self, *args, **kwargs)
        self._age_timer.stop()

    window.DetailWindow.__init__ = init_without_age_timer
