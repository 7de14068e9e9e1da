// Placeholder until PNG I/O lands (issue 2).
