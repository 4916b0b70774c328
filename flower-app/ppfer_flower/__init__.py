"""PPFER's Flower App: the ServerApp and ClientApp of :mod:`ppfer_core.federated`."""
