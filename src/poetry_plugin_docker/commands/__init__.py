"""The cleo commands `poetry docker build-context`, `dockerfile` and `build`: they parse options
and hand a settings object to the modules that do the work."""
