"""Protocol logic: each suite is a versioned manifest (suites/<name>/v<k>.yaml) plus a Suite class."""
