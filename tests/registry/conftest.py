# The registries, the token server and the Docker config of the tests: registry_servers.py.
from registry_servers import basic_registry, docker_config, plain_registry, token_registry

__all__ = ["basic_registry", "docker_config", "plain_registry", "token_registry"]
