#!/bin/sh
# Install Bridgewatch for the current user, with no root rights:
#   the app         ~/.local/lib/bridgewatch/
#   the command     ~/.local/bin/bridgewatch (a symbolic link)
#   the menu entry  ~/.local/share/applications/io.github.bridgewatch.Bridgewatch.desktop
#   the icons       ~/.local/share/icons/hicolor/<size>/apps/io.github.bridgewatch.Bridgewatch.*
# Set PREFIX to use another folder than ~/.local. `install.sh --uninstall` removes all four, and
# the start-at-login entry when it starts this copy.
set -eu

app_id=io.github.bridgewatch.Bridgewatch
here=$(cd "$(dirname "$0")" && pwd)
prefix=${PREFIX:-$HOME/.local}
app_dir=$prefix/lib/bridgewatch
bin_link=$prefix/bin/bridgewatch
desktop_file=$prefix/share/applications/$app_id.desktop
icon_root=$prefix/share/icons/hicolor
config_home=${XDG_CONFIG_HOME:-$HOME/.config}
autostart_file=$config_home/autostart/bridgewatch.desktop

refresh_caches() {
    # Menus pick up the entry and icons without these too, only later; failures are harmless.
    if command -v update-desktop-database >/dev/null 2>&1; then
        update-desktop-database -q "$prefix/share/applications" 2>/dev/null || true
    fi
    if command -v gtk-update-icon-cache >/dev/null 2>&1 && [ -f "$icon_root/index.theme" ]; then
        gtk-update-icon-cache -q -t "$icon_root" 2>/dev/null || true
    fi
}

uninstall() {
    rm -rf "$app_dir"
    rm -f "$desktop_file"
    if [ -L "$bin_link" ]; then
        rm -f "$bin_link"
    fi
    for icon in "$icon_root"/*/apps/"$app_id".png "$icon_root"/scalable/apps/"$app_id".svg; do
        rm -f "$icon"
    done
    # The app writes this entry when "Start at login" is on. One that starts another copy stays.
    if [ -f "$autostart_file" ] && grep -qF "$app_dir/Bridgewatch" "$autostart_file"; then
        rm -f "$autostart_file"
        echo "Removed the start-at-login entry $autostart_file."
    fi
    refresh_caches
    echo "Removed Bridgewatch from $prefix."
    echo "Kept, for a later install:"
    echo "  settings and bridge list  $config_home/Bridgewatch"
    echo "  history                   ${XDG_DATA_HOME:-$HOME/.local/share}/Bridgewatch"
    echo "  logs                      ${XDG_STATE_HOME:-$HOME/.local/state}/Bridgewatch"
    echo "  tokens                    in your keychain, service \"bridgewatch\" (remove them with"
    echo "                            \`bridgewatch remove NAME\` before uninstalling, or in Seahorse or KWalletManager)"
    if command -v pgrep >/dev/null 2>&1 && pgrep -f "$app_dir/Bridgewatch" >/dev/null 2>&1; then
        echo "Bridgewatch is still running: quit it from its tray menu."
    fi
}

case "${1:-}" in
    --uninstall)
        uninstall
        exit 0
        ;;
    "") ;;
    *)
        echo "usage: $0 [--uninstall]" >&2
        exit 2
        ;;
esac

if [ ! -x "$here/Bridgewatch/Bridgewatch" ]; then
    echo "install.sh: $here/Bridgewatch/Bridgewatch is missing: run install.sh from the unpacked archive." >&2
    exit 1
fi
# The Exec line quotes the path: these characters would need escaping inside the quotes or in sed.
case "$app_dir" in
    *'"'* | *'`'* | *'$'* | *'\'* | *'%'* | *'|'* | *'&'*)
        echo "install.sh: the folder $app_dir contains one of \" \` \$ \\ % | &, which this script cannot write into a menu entry: set PREFIX to another folder." >&2
        exit 1
        ;;
esac

# Copy beside the old version first, so a failed copy leaves the installed app working.
mkdir -p "$prefix/lib" "$prefix/bin" "$prefix/share/applications"
rm -rf "$app_dir.new"
cp -R "$here/Bridgewatch" "$app_dir.new"
rm -rf "$app_dir"
mv "$app_dir.new" "$app_dir"

if [ -e "$bin_link" ] && [ ! -L "$bin_link" ]; then
    echo "install.sh: $bin_link exists and is not a link from an earlier install; left it unchanged." >&2
else
    ln -sfn "$app_dir/Bridgewatch" "$bin_link"
fi

sed -e "s|^Exec=.*|Exec=\"$app_dir/Bridgewatch\"|" \
    -e "s|^TryExec=.*|TryExec=$app_dir/Bridgewatch|" \
    "$here/$app_id.desktop" > "$desktop_file.new"
mv "$desktop_file.new" "$desktop_file"

(cd "$here/icons/hicolor" && find . -type f) | while read -r icon; do
    mkdir -p "$(dirname "$icon_root/$icon")"
    cp "$here/icons/hicolor/$icon" "$icon_root/$icon"
done
refresh_caches

echo "Installed Bridgewatch $(cat "$here/VERSION" 2>/dev/null || echo) in $app_dir."
echo "Start it from the applications menu, or run: $bin_link"
case ":$PATH:" in
    *":$prefix/bin:"*) ;;
    *) echo "Note: $prefix/bin is not on your PATH, so type the full path or add it to PATH." ;;
esac
