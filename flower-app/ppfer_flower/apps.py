"""Components named in this app's pyproject.toml: the apps configured from the run config."""

from ppfer_core.federated.client_app import app as client
from ppfer_core.federated.server_app import app as server

__all__ = ["client", "server"]
