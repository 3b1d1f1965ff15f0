"""Scripts that run inside the image being built, on its own Python (3.8 or newer), with the standard
library only. They are package data: `build-context` writes them next to the stub, and the plugin
never imports them."""
