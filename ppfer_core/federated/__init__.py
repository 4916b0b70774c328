"""Federated mode (Flower): sites as a partition of the corpus by actor, F_u trained across them.

- :mod:`ppfer_core.federated.partition`  sites by actor, site folders
- :mod:`ppfer_core.federated.task`       settings (from the config), local training and testing at a site
- :mod:`ppfer_core.federated.app_config` the Flower App's run config, generated from config.yaml
- :mod:`ppfer_core.federated.client_app` Flower ClientApp (one per site)
- :mod:`ppfer_core.federated.server_app` Flower ServerApp: FedAvg / FedProx rounds, resumable
- :mod:`ppfer_core.federated.simulation` the rule's run on Flower's simulation engine
- :mod:`ppfer_core.federated.table6`     Table 6: federated vs centralised ACC
- :mod:`ppfer_core.federated.code_task`  the bottleneck's basis statistics and code estimator at a site (issue 27)
- :mod:`ppfer_core.federated.code_apps`  their Flower apps: summed statistics, FedAvg of the estimator, simulation

The Flower App for ``flwr run`` is ``flower-app/`` at the repository root.
"""

import os

os.environ.setdefault("FLWR_TELEMETRY_ENABLED", "0")  # nothing leaves the machine
