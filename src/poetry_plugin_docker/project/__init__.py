"""The Poetry project as the plugin reads it: its pyproject.toml and lock, its package sources and
their credentials, and the groups and extras the image installs."""
