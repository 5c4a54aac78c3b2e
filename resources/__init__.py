"""Non-code files (icons) shipped inside the app package as app.resources."""
