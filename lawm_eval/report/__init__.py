"""Reports: records → pandas DataFrames → leaderboard CSV/Markdown, plots and videos."""
