"""Small helpers every package may use: no project imports beyond migrator.errors."""
