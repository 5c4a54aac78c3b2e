"""Qt front end: the tray icon, the detail window and notifications."""
