# Sourced by the scripts in this folder: makes a fresh machine ready, idempotently.
#  - a Docker engine and local base images (../shared/bin/docker-sandbox, needs root);
#  - Poetry (pinned) with poetry-plugin-pypi-mirror in .cache/tools, used only to bootstrap;
#  - the project's own virtualenv (.venv) with Poetry, this plugin and the test tools.
# The package index is derived at run time, never written down.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
sandbox="$repo/../shared/bin/docker-sandbox"
BOOTSTRAP_POETRY=2.5.1

if [ -x "$sandbox" ]; then
  eval "$("$sandbox")"
else
  echo "setup: $sandbox not found; Docker tests need a running engine" >&2
fi
# An SSH server for the private-git end-to-end test (started by the test on loopback only).
if [ ! -x /usr/sbin/sshd ] && [ "$(id -u)" = 0 ]; then
  { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server openssh-client \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server openssh-client; }
  } > /tmp/setup-openssh.log 2>&1 || { cat /tmp/setup-openssh.log >&2; exit 1; }
fi
# A registry (Debian's docker-registry) and htpasswd (apache2-utils) for the registry client's
# tests (tests/registry: each test starts its own registry on loopback only).
if { [ ! -x /usr/bin/docker-registry ] || [ ! -x /usr/bin/htpasswd ]; } && [ "$(id -u)" = 0 ]; then
  { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-registry apache2-utils \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-registry apache2-utils; }
  } > /tmp/setup-registry.log 2>&1 || { cat /tmp/setup-registry.log >&2; exit 1; }
fi
PYPI_MIRROR_URL=${PYPI_MIRROR_URL:-$(python3 -c 'from pip._internal.models.index import PyPI; print(PyPI.simple_url)')}
export PYPI_MIRROR_URL POETRY_PYPI_MIRROR_URL="$PYPI_MIRROR_URL"
export DOCKER=${DOCKER:-/usr/bin/docker} DOCKER_BUILDKIT=1
export POETRY_VIRTUALENVS_IN_PROJECT=true POETRY_NO_INTERACTION=1

tools="$repo/.cache/tools"
if [ ! -x "$tools/bin/poetry" ]; then
  python3 -m venv "$tools"
  "$tools/bin/pip" install -q "poetry==$BOOTSTRAP_POETRY" poetry-plugin-pypi-mirror > "$repo/.cache/tools.log" 2>&1 \
    || { cat "$repo/.cache/tools.log" >&2; exit 1; }
fi
(cd "$repo" && "$tools/bin/poetry" install -q)
# From here on, `poetry` is the project's Poetry, with this plugin installed next to it.
export PATH="$repo/.venv/bin:$PATH"
